// A mobile-style s3-broker client in Kotlin with nothing but the JDK's java.net.http.HttpClient
// (Java 11+) and the Kotlin standard library: ask the broker for a PUT grant, upload the file
// straight to S3 with exactly the grant's headers, and ask for a download link. The same calls
// as S3BrokerExample.java; on Android and iOS: README.md.
//
// usage: S3_BROKER_URL=... S3_BROKER_TOKEN=... java -jar s3-broker-example.jar FILE [CONTENT_TYPE]
// prints: key=<the object key>, then download_url=<a presigned GET URL>.

import java.io.File
import java.io.IOException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import kotlin.system.exitProcess

/** An error answer of the broker (problem+json) or of S3. */
class UploadException(message: String) : IOException(message)

class S3Broker(broker: String, private val token: String) {
    private val broker = broker.trimEnd('/')
    private val http: HttpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()

    /** Calls the broker with a JSON body; returns the JSON answer. */
    fun call(path: String, body: Map<String, Any>): Map<String, Any?> {
        val request = HttpRequest.newBuilder(URI.create(broker + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer $token")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(Json.write(body)))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        val text: String = response.body()
        val json = if (text.length == 0) emptyMap<String, Any?>() else Json.parse(text)
        val answer = json as? Map<*, *> ?: emptyMap<String, Any?>()
        if (response.statusCode() / 100 != 2) {
            // problem+json: `code` is stable, `detail` says what to fix.
            throw UploadException("the broker refused (${response.statusCode()} ${answer["code"]}): ${answer["detail"]}")
        }
        return answer.entries.associate { (name, value) -> name.toString() to value }
    }

    /** Uploads `file` with a PUT grant; returns the object key. */
    fun upload(file: File, contentType: String): String {
        val grant = call(
            "/v1/uploads",
            mapOf("filename" to file.name, "content_type" to contentType, "size" to file.length(), "method" to "PUT")
        )
        val put = HttpRequest.newBuilder(URI.create(grant["url"] as String))
            .timeout(Duration.ofMinutes(10))
            .PUT(HttpRequest.BodyPublishers.ofFile(file.toPath())) // sets Content-Length
        val headers = grant["headers"] as? Map<*, *> ?: emptyMap<String, String>()
        for ((name, value) in headers) {
            // HttpClient sets these itself and refuses to be given them.
            if (name.toString().toLowerCase() !in RESTRICTED) put.header(name.toString(), value.toString())
        }
        val stored = http.send(put.build(), HttpResponse.BodyHandlers.ofString())
        if (stored.statusCode() / 100 != 2) {
            throw UploadException("S3 refused the upload (${stored.statusCode()}): ${stored.body()}")
        }
        return grant["key"] as String
    }

    /** A presigned GET URL for `key`. */
    fun downloadUrl(key: String): String = call("/v1/downloads", mapOf("key" to key))["url"] as String

    private companion object {
        val RESTRICTED = setOf("content-length", "host")
    }
}

fun main(args: Array<String>) {
    val broker = System.getenv("S3_BROKER_URL")
    val token = System.getenv("S3_BROKER_TOKEN")
    if (args.isEmpty() || broker == null || token == null) {
        System.err.println("usage: S3_BROKER_URL=... S3_BROKER_TOKEN=... java -jar s3-broker-example.jar FILE [CONTENT_TYPE]")
        exitProcess(2)
    }
    val client = S3Broker(broker, token)
    try {
        val key = client.upload(File(args[0]), args.getOrElse(1) { "application/octet-stream" })
        println("key=$key")
        println("download_url=${client.downloadUrl(key)}")
    } catch (e: UploadException) {
        System.err.println(e.message)
        exitProcess(1)
    }
}

/** Just enough JSON for the broker's answers (objects, arrays, strings, numbers, literals). */
class Json private constructor(private val text: String) {
    private var at = 0

    companion object {
        fun parse(text: String): Any? {
            val json = Json(text)
            val value = json.value()
            json.space()
            if (json.at != text.length) throw json.error("trailing text")
            return value
        }

        fun write(obj: Map<String, Any>): String = obj.entries.joinToString(",", "{", "}") { (name, value) ->
            string(name) + ":" + if (value is String) string(value) else value.toString() // numbers, booleans
        }

        private fun string(s: String): String = buildString {
            append('"')
            for (c in s) {
                when {
                    c == '"' -> append("\\\"")
                    c == '\\' -> append("\\\\")
                    c < ' ' -> append("\\u%04x".format(c.toInt()))
                    else -> append(c)
                }
            }
            append('"')
        }
    }

    private fun error(what: String) = IllegalArgumentException("bad JSON at $at: $what")

    private fun space() {
        while (at < text.length && text[at].isWhitespace()) at++
    }

    private fun next(): Char = if (at < text.length) text[at++] else throw error("end of text")

    private fun value(): Any? {
        space()
        if (at >= text.length) throw error("end of text")
        return when (text[at]) {
            '{' -> obj()
            '[' -> array()
            '"' -> str()
            else -> literalOrNumber()
        }
    }

    private fun obj(): Map<String, Any?> {
        val result = LinkedHashMap<String, Any?>()
        at++
        space()
        if (text.getOrNull(at) == '}') { at++; return result }
        while (true) {
            space()
            val name = value() as? String ?: throw error("expected a name")
            space()
            if (next() != ':') throw error("expected :")
            result[name] = value()
            space()
            when (next()) {
                '}' -> return result
                ',' -> {}
                else -> throw error("expected , or }")
            }
        }
    }

    private fun array(): List<Any?> {
        val result = ArrayList<Any?>()
        at++
        space()
        if (text.getOrNull(at) == ']') { at++; return result }
        while (true) {
            result.add(value())
            space()
            when (next()) {
                ']' -> return result
                ',' -> {}
                else -> throw error("expected , or ]")
            }
        }
    }

    private fun str(): String = buildString {
        at++
        while (true) {
            val d = next()
            if (d == '"') return@buildString
            if (d != '\\') { append(d); continue }
            when (val e = next()) {
                'n' -> append('\n')
                't' -> append('\t')
                'r' -> append('\r')
                'b' -> append('\b')
                'f' -> append('\u000c')
                'u' -> {
                    if (at + 4 > text.length) throw error("short \\u escape")
                    append(text.substring(at, at + 4).toInt(16).toChar())
                    at += 4
                }
                else -> append(e) // \" \\ \/
            }
        }
    }

    private fun literalOrNumber(): Any? {
        for ((literal, value) in listOf("true" to true, "false" to false, "null" to null)) {
            if (text.startsWith(literal, at)) {
                at += literal.length
                return value
            }
        }
        val start = at
        while (at < text.length && text[at] in "+-0123456789.eE") at++
        if (start == at) throw error("unexpected ${text[at]}")
        return text.substring(start, at).toDouble()
    }
}
