//! The kinds of content the sniffers recognise, the media types each one may be declared as,
//! and the file-name extensions each one may carry.

use std::fmt;

/// What the first bytes of an object are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// PNG (<https://www.w3.org/TR/png-3/#5PNG-file-signature>).
    Png,
    /// JPEG / JFIF / Exif (`FF D8 FF`).
    Jpeg,
    /// GIF87a or GIF89a.
    Gif,
    /// WebP (`RIFF....WEBP`).
    Webp,
    /// AVIF (ISO BMFF with an `avif`/`avis` brand).
    Avif,
    /// HEIC/HEIF (ISO BMFF with a HEIF brand).
    Heic,
    /// PDF (`%PDF-`).
    Pdf,
    /// A ZIP archive whose first entries name no Office part.
    Zip,
    /// An Office Open XML package whose main part was not among the entries read.
    Ooxml,
    /// A Word document (`word/` part).
    Docx,
    /// An Excel workbook (`xl/` part).
    Xlsx,
    /// A PowerPoint presentation (`ppt/` part).
    Pptx,
    /// A Compound File Binary (OLE2) file: legacy `.doc`, `.xls`, `.ppt`, `.msg`.
    Ole2,
    /// MP4 and its relatives (ISO BMFF with an MPEG-4 or 3GPP brand).
    Mp4,
    /// QuickTime (`qt  ` brand, or a classic `moov`/`mdat`/`wide` first atom).
    QuickTime,
    /// MP3 (an ID3v2 tag or an MPEG audio layer III frame).
    Mp3,
    /// WAV (`RIFF....WAVE`).
    Wav,
    /// gzip (`1F 8B 08`).
    Gzip,
    /// Valid UTF-8 without NUL and without a known binary signature.
    Text,
    /// None of the above.
    Unknown,
}

/// Pixel dimensions read from an image header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Dimensions {
    /// Width × height.
    pub fn pixels(self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

const OOXML_WORD: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const OOXML_SHEET: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const OOXML_SLIDES: &str =
    "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const ZIP_TYPES: &[&str] = &["application/zip", "application/x-zip-compressed"];

/// The types other than `text/*` that are text: declared, they must sniff as text.
const TEXT_TYPES: &[&str] = &[
    "application/json",
    "application/xml",
    "application/javascript",
    "image/svg+xml",
];

impl Kind {
    /// The media types (lower case, without parameters) this kind may be declared as, apart
    /// from `text/*` for [`Kind::Text`].
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            Kind::Png => &["image/png", "image/apng"],
            Kind::Jpeg => &["image/jpeg", "image/jpg", "image/pjpeg"],
            Kind::Gif => &["image/gif"],
            Kind::Webp => &["image/webp"],
            Kind::Avif => &["image/avif"],
            Kind::Heic => &[
                "image/heic",
                "image/heif",
                "image/heic-sequence",
                "image/heif-sequence",
            ],
            Kind::Pdf => &["application/pdf"],
            Kind::Zip => ZIP_TYPES,
            Kind::Ooxml => &[
                OOXML_WORD,
                OOXML_SHEET,
                OOXML_SLIDES,
                "application/zip",
                "application/x-zip-compressed",
            ],
            Kind::Docx => &[
                OOXML_WORD,
                "application/zip",
                "application/x-zip-compressed",
            ],
            Kind::Xlsx => &[
                OOXML_SHEET,
                "application/zip",
                "application/x-zip-compressed",
            ],
            Kind::Pptx => &[
                OOXML_SLIDES,
                "application/zip",
                "application/x-zip-compressed",
            ],
            Kind::Ole2 => &[
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.ms-outlook",
                "application/x-ole-storage",
            ],
            Kind::Mp4 => &[
                "video/mp4",
                "audio/mp4",
                "video/x-m4v",
                "audio/x-m4a",
                "video/3gpp",
                "audio/3gpp",
                "video/3gpp2",
                "audio/3gpp2",
            ],
            Kind::QuickTime => &["video/quicktime"],
            Kind::Mp3 => &["audio/mpeg", "audio/mp3"],
            Kind::Wav => &["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"],
            Kind::Gzip => &["application/gzip", "application/x-gzip"],
            Kind::Text => TEXT_TYPES,
            Kind::Unknown => &[],
        }
    }

    /// Whether content of this kind may be declared as `media_type` (lower case, no
    /// parameters).
    pub fn fits_type(self, media_type: &str) -> bool {
        (self == Kind::Text && media_type.starts_with("text/"))
            || self.media_types().contains(&media_type)
    }

    /// The file-name extensions (lower case, without the dot) this kind may carry.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::Png => &["png", "apng"],
            Kind::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            Kind::Gif => &["gif"],
            Kind::Webp => &["webp"],
            Kind::Avif => &["avif"],
            Kind::Heic => &["heic", "heif", "hif"],
            Kind::Pdf => &["pdf"],
            Kind::Zip => &["zip"],
            Kind::Ooxml => &["docx", "xlsx", "pptx", "zip"],
            Kind::Docx => &["docx", "zip"],
            Kind::Xlsx => &["xlsx", "zip"],
            Kind::Pptx => &["pptx", "zip"],
            Kind::Ole2 => &["doc", "xls", "ppt", "msg"],
            Kind::Mp4 => &["mp4", "m4v", "m4a", "3gp", "3g2", "mov"],
            Kind::QuickTime => &["mov", "qt"],
            Kind::Mp3 => &["mp3"],
            Kind::Wav => &["wav"],
            Kind::Gzip => &["gz", "tgz"],
            Kind::Text => &[
                "txt", "csv", "tsv", "md", "html", "htm", "json", "xml", "svg", "css", "js", "log",
            ],
            Kind::Unknown => &[],
        }
    }

    /// Every kind with a signature.
    pub const KNOWN: [Kind; 19] = [
        Kind::Png,
        Kind::Jpeg,
        Kind::Gif,
        Kind::Webp,
        Kind::Avif,
        Kind::Heic,
        Kind::Pdf,
        Kind::Zip,
        Kind::Ooxml,
        Kind::Docx,
        Kind::Xlsx,
        Kind::Pptx,
        Kind::Ole2,
        Kind::Mp4,
        Kind::QuickTime,
        Kind::Mp3,
        Kind::Wav,
        Kind::Gzip,
        Kind::Text,
    ];

    /// Whether some kind claims `media_type`, i.e. the broker can check content declared so.
    pub fn type_is_known(media_type: &str) -> bool {
        Self::KNOWN.iter().any(|k| k.fits_type(media_type))
    }

    /// Whether some kind claims the extension `ext` (lower case).
    pub fn extension_is_known(ext: &str) -> bool {
        Self::KNOWN.iter().any(|k| k.extensions().contains(&ext))
    }

    /// Whether this kind has pixel dimensions the broker reads.
    pub fn is_image(self) -> bool {
        matches!(
            self,
            Kind::Png | Kind::Jpeg | Kind::Gif | Kind::Webp | Kind::Avif | Kind::Heic
        )
    }

    /// A short stable name, for reasons and logs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpeg",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Avif => "avif",
            Kind::Heic => "heic",
            Kind::Pdf => "pdf",
            Kind::Zip => "zip",
            Kind::Ooxml => "ooxml",
            Kind::Docx => "docx",
            Kind::Xlsx => "xlsx",
            Kind::Pptx => "pptx",
            Kind::Ole2 => "ole2",
            Kind::Mp4 => "mp4",
            Kind::QuickTime => "quicktime",
            Kind::Mp3 => "mp3",
            Kind::Wav => "wav",
            Kind::Gzip => "gzip",
            Kind::Text => "text",
            Kind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
