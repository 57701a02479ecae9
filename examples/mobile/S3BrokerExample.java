// A mobile-style s3-broker client with nothing but the JDK (java.net.http.HttpClient, Java 11+):
// ask the broker for a PUT grant, upload the file straight to S3 with exactly the grant's
// headers, and ask for a download link. The same three calls on Android and iOS: README.md.
//
// usage: S3_BROKER_URL=... S3_BROKER_TOKEN=... java S3BrokerExample.java FILE [CONTENT_TYPE]
// prints: key=<the object key>, then download_url=<a presigned GET URL>.

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class S3BrokerExample {
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    /** Headers HttpClient sets itself and refuses to be given. */
    private static final List<String> RESTRICTED = List.of("content-length", "host");

    private final String broker;
    private final String token;

    S3BrokerExample(String broker, String token) {
        this.broker = broker.replaceAll("/+$", "");
        this.token = token;
    }

    /** An error answer of the broker (problem+json) or of S3. */
    static final class UploadException extends IOException {
        private static final long serialVersionUID = 1L;

        UploadException(String message) {
            super(message);
        }
    }

    /** Calls the broker with a JSON body; returns the JSON answer. */
    Map<String, Object> call(String path, Map<String, Object> body) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(broker + path))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.write(body)))
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        Object json = response.body().isEmpty() ? Map.of() : Json.parse(response.body());
        if (response.statusCode() / 100 != 2) {
            // problem+json: `code` is stable, `detail` says what to fix.
            Map<?, ?> problem = json instanceof Map<?, ?> m ? m : Map.of();
            throw new UploadException("the broker refused (" + response.statusCode() + " "
                    + problem.get("code") + "): " + problem.get("detail"));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) json;
        return map;
    }

    /** Uploads `file` with a PUT grant; returns the object key. */
    String upload(Path file, String contentType) throws IOException, InterruptedException {
        Map<String, Object> ask = new LinkedHashMap<>();
        ask.put("filename", file.getFileName().toString());
        ask.put("content_type", contentType);
        ask.put("size", Files.size(file));
        ask.put("method", "PUT");
        Map<String, Object> grant = call("/v1/uploads", ask);

        HttpRequest.Builder put = HttpRequest.newBuilder(URI.create((String) grant.get("url")))
                .timeout(Duration.ofMinutes(10))
                .PUT(HttpRequest.BodyPublishers.ofFile(file)); // sets Content-Length
        @SuppressWarnings("unchecked")
        Map<String, Object> headers = (Map<String, Object>) grant.get("headers");
        for (Map.Entry<String, Object> header : headers.entrySet()) {
            if (!RESTRICTED.contains(header.getKey().toLowerCase())) {
                put.header(header.getKey(), (String) header.getValue());
            }
        }
        HttpResponse<String> stored = HTTP.send(put.build(), HttpResponse.BodyHandlers.ofString());
        if (stored.statusCode() / 100 != 2) {
            throw new UploadException("S3 refused the upload (" + stored.statusCode() + "): " + stored.body());
        }
        return (String) grant.get("key");
    }

    /** A presigned GET URL for `key`. */
    String downloadUrl(String key) throws IOException, InterruptedException {
        return (String) call("/v1/downloads", Map.of("key", key)).get("url");
    }

    public static void main(String[] args) throws Exception {
        String broker = System.getenv("S3_BROKER_URL");
        String token = System.getenv("S3_BROKER_TOKEN");
        if (args.length < 1 || broker == null || token == null) {
            System.err.println("usage: S3_BROKER_URL=... S3_BROKER_TOKEN=... java S3BrokerExample.java FILE [CONTENT_TYPE]");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        String contentType = args.length > 1 ? args[1] : "application/octet-stream";
        S3BrokerExample client = new S3BrokerExample(broker, token);
        try {
            String key = client.upload(file, contentType);
            System.out.println("key=" + key);
            System.out.println("download_url=" + client.downloadUrl(key));
        } catch (UploadException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
    }

    /** Just enough JSON for the broker's answers (objects, arrays, strings, numbers, literals). */
    static final class Json {
        private final String text;
        private int at;

        private Json(String text) {
            this.text = text;
        }

        static Object parse(String text) {
            Json json = new Json(text);
            Object value = json.value();
            json.space();
            if (json.at != text.length()) throw json.error("trailing text");
            return value;
        }

        static String write(Map<String, Object> object) {
            StringBuilder out = new StringBuilder("{");
            for (Map.Entry<String, Object> entry : object.entrySet()) {
                if (out.length() > 1) out.append(',');
                string(out, entry.getKey());
                out.append(':');
                Object value = entry.getValue();
                if (value instanceof String s) string(out, s);
                else out.append(value); // numbers and booleans
            }
            return out.append('}').toString();
        }

        private static void string(StringBuilder out, String s) {
            out.append('"');
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    default -> {
                        if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                        else out.append(c);
                    }
                }
            }
            out.append('"');
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("bad JSON at " + at + ": " + what);
        }

        private void space() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) at++;
        }

        private Object value() {
            space();
            if (at >= text.length()) throw error("end of text");
            char c = text.charAt(at);
            if (c == '{') {
                Map<String, Object> object = new LinkedHashMap<>();
                at++;
                space();
                if (text.charAt(at) == '}') { at++; return object; }
                while (true) {
                    space();
                    String name = (String) value();
                    space();
                    if (text.charAt(at++) != ':') throw error("expected :");
                    object.put(name, value());
                    space();
                    char next = text.charAt(at++);
                    if (next == '}') return object;
                    if (next != ',') throw error("expected , or }");
                }
            }
            if (c == '[') {
                List<Object> array = new ArrayList<>();
                at++;
                space();
                if (text.charAt(at) == ']') { at++; return array; }
                while (true) {
                    array.add(value());
                    space();
                    char next = text.charAt(at++);
                    if (next == ']') return array;
                    if (next != ',') throw error("expected , or ]");
                }
            }
            if (c == '"') {
                StringBuilder out = new StringBuilder();
                at++;
                while (true) {
                    char d = text.charAt(at++);
                    if (d == '"') return out.toString();
                    if (d != '\\') { out.append(d); continue; }
                    char e = text.charAt(at++);
                    switch (e) {
                        case 'n' -> out.append('\n');
                        case 't' -> out.append('\t');
                        case 'r' -> out.append('\r');
                        case 'b' -> out.append('\b');
                        case 'f' -> out.append('\f');
                        case 'u' -> { out.append((char) Integer.parseInt(text.substring(at, at + 4), 16)); at += 4; }
                        default -> out.append(e); // \" \\ \/
                    }
                }
            }
            for (String literal : new String[] {"true", "false", "null"}) {
                if (text.startsWith(literal, at)) {
                    at += literal.length();
                    return literal.equals("null") ? null : Boolean.valueOf(literal);
                }
            }
            int start = at;
            while (at < text.length() && "+-0123456789.eE".indexOf(text.charAt(at)) >= 0) at++;
            if (start == at) throw error("unexpected " + c);
            return Double.valueOf(text.substring(start, at));
        }
    }
}
