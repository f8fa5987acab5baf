//! The words mail clients write around a reply, per language, as data: attribution verbs,
//! separators, header-block labels, device signatures, disclaimers and closings. All are
//! lower-case; the matchers are built once, on first use.
//!
//! Sources: the translations Gmail, Outlook (desktop, web, mobile), Apple Mail and Thunderbird
//! ship, and the mobile mail apps' default signatures.

use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Verbs (or what stands for one) of attribution lines: "On Tue, Bob wrote:".
const ATTRIBUTION_VERBS: &[&str] = &[
    // English, German, French, Welsh, Dutch, Spanish, Catalan, Italian, Portuguese
    "wrote",
    // Emacs message-mode, Gnus and notmuch: "Name <addr> writes:".
    "writes",
    "schrieb",
    "a écrit",
    "ysgrifennodd",
    "schreef",
    "het volgende geschreven",
    "escribió",
    "ha escrit",
    "va escriure",
    "ha scritto",
    "escreveu",
    // Galician, Basque, Afrikaans, Albanian, Icelandic, Filipino, Swahili
    "escribiu",
    "idatzi zuen",
    "geskryf",
    "shkroi",
    "skrifaði",
    "sinulat ni",
    "aliandika",
    // Nordic, Finnish, Estonian, Hungarian
    "skrev",
    "kirjoitti",
    "kirjutas",
    "írta",
    // Polish, Czech, Slovak, Slovenian, Croatian, Serbian
    "napisał(a)",
    "napisał",
    "napisała",
    "napisana",
    "pisze",
    "napsal(a)",
    "napsal",
    "napísal(a)",
    "napísal",
    "je napisal",
    "je napisao",
    "je napisala",
    // Russian, Ukrainian, Bulgarian
    "написал(а)",
    "написал",
    "написала",
    "пишет",
    "написав",
    "пише",
    "написа",
    "написао",
    // Romanian, Turkish, Greek, Lithuanian, Latvian, Indonesian, Vietnamese
    "a scris",
    "yazdı",
    "έγραψε",
    "rašė",
    "rakstīja",
    "menulis",
    "đã viết",
    "viết",
    // Arabic, Hebrew, Thai, Persian, Hindi
    "كتب",
    "כתב",
    "เขียนว่า",
    "نوشت",
    "ने लिखा",
    // Chinese, Japanese, Korean (Gmail and Apple Mail)
    "写道",
    "寫道",
    "のメッセージ",
    "のメール",
    "は書きました",
    "작성",
    "쓴 글",
];

/// First words of an attribution line, before a date; a client may wrap the line after them.
const ATTRIBUTION_OPENINGS: &[&str] = &[
    "on ",
    "am ",
    "le ",
    "ar ",
    "op ",
    "el ",
    "il ",
    "em ",
    "den ",
    "w dniu ",
    "dnia ",
    "dne ",
    "dňa ",
    "в ",
    "у ",
    "kl. ",
    "pada ",
    "mnamo ",
    "noong ",
    "vào ",
    "στις ",
    "---- on ",
    "--- on ",
];

/// Openings that are also short words, or parts of words, everywhere in text ("o", "at"):
/// believed only where a line starts with them, and never searched for within one.
const LINE_OPENINGS: &[&str] = &[
    // Galician
    "o ",
    // Wanderlust: "At Thu, 03 Dec 2026 10:00:00 +0000,\nName wrote:", and its other form,
    // "In <message-id>\n  Name <addr> wrote:".
    "at ", "in <",
];

/// Separators after which only the original message follows ("-----Original Message-----").
const ORIGINAL_MESSAGE: &[&str] = &[
    "original message",
    "ursprüngliche nachricht",
    "antwort nachricht",
    "message d'origine",
    "neges wreiddiol",
    "oorspronkelijk bericht",
    "origineel bericht",
    "mensaje original",
    "messaggio originale",
    "mensagem original",
    "oprindelig besked",
    "oprindelig meddelelse",
    "upprunaleg skilaboð",
    "reply message",
    "opprinnelig melding",
    "originalmeddelande",
    "ursprungligt meddelande",
    "alkuperäinen viesti",
    "wiadomość oryginalna",
    "oryginalna wiadomość",
    "původní zpráva",
    "pôvodná správa",
    "eredeti üzenet",
    "исходное сообщение",
    "оригінальне повідомлення",
    "mesaj original",
    "orijinal mesaj",
    "αρχικό μήνυμα",
    "izvorna poruka",
    "originalna poruka",
    "izvirno sporočilo",
    "originalus laiškas",
    "sākotnējā ziņa",
    "algne sõnum",
    "оригинално съобщение",
    "оригинална порука",
    "original-nachricht",
    "missatge original",
    "mensaxe orixinal",
    "jatorrizko mezua",
    "pesan asli",
    "mesej asal",
    "thư gốc",
    "ข้อความต้นฉบับ",
    "הודעה מקורית",
    "الرسالة الأصلية",
    "मूल संदेश",
    "原始邮件",
    "原始郵件",
    "邮件原件",
    "元のメッセージ",
    "원본 메시지",
];

/// Markers of a forwarded message: content the person chose to send, kept after their note.
const FORWARDED: &[&str] = &[
    "forwarded message",
    "begin forwarded message",
    "weitergeleitete nachricht",
    "anfang der weitergeleiteten nachricht",
    "message transféré",
    "début du message réexpédié",
    "mensaje reenviado",
    "inicio del mensaje reenviado",
    "messaggio inoltrato",
    "inizio messaggio inoltrato",
    "mensagem encaminhada",
    "doorgestuurd bericht",
    "begin doorgestuurd bericht",
    "videresendt melding",
    "videresendt besked",
    "vidarebefordrat meddelande",
    "välitetty viesti",
    "przekazana wiadomość",
    "wiadomość przekazana",
    "přeposlaná zpráva",
    "továbbított üzenet",
    "пересылаемое сообщение",
    "пересланное сообщение",
    "переслане повідомлення",
    "перенаправленное сообщение",
    "videresendt meddelelse",
    "προωθημένο μήνυμα",
    "iletilen mesaj",
    "i̇letilen mesaj",
    "mesaj redirecționat",
    "missatge reenviat",
    "转发的消息",
    "転送メッセージ",
    "转发的邮件",
    "轉寄的郵件",
    "転送されたメッセージ",
    "전달된 메시지",
];

/// Subject prefixes of a forward, for Outlook's header blocks.
pub(super) const FORWARD_SUBJECTS: &[&str] = &[
    "fw:",
    "fwd:",
    "wg:",
    "tr:",
    "rv:",
    "i:",
    "vs:",
    "vb:",
    "doorst:",
    "pd:",
    "enc:",
    "fs:",
    "転送:",
    "转发:",
    "пересл:",
];

/// What a header-block line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Label {
    From,
    Date,
    To,
    Subject,
}

const HEADER_LABELS: &[(Label, &[&str])] = &[
    (
        Label::From,
        &[
            "from",
            "von",
            "de",
            "van",
            "da",
            "fra",
            "från",
            "od",
            "от",
            "від",
            "lähettäjä",
            "feladó",
            "kimden",
            "发件人",
            "寄件者",
            "差出人",
            "보낸 사람",
            "oddi wrth",
            "remitente",
            "afzender",
            "avsändare",
            "absender",
            "expéditeur",
            "mittente",
            "nadawca",
            "αποστολέας",
            "de la",
            "από",
            "من",
            "מאת",
            "šalje",
            "từ",
            "dari",
            "nuo",
            "saatja",
            "од",
            "frá",
            "daripada",
            "จาก",
            "प्रेषक",
            "از",
        ],
    ),
    (
        Label::Date,
        &[
            "sent",
            "date",
            "gesendet",
            "datum",
            "envoyé",
            "envoyé le",
            "verzonden",
            "inviato",
            "enviado",
            "enviada",
            "enviado el",
            "sendt",
            "skickat",
            "wysłano",
            "wysłane",
            "data",
            "odesláno",
            "lähetetty",
            "elküldve",
            "gönderildi",
            "отправлено",
            "дата",
            "надіслано",
            "发送时间",
            "日期",
            "寄件日期",
            "送信日時",
            "날짜",
            "보낸 날짜",
            "anfonwyd",
            "dyddiad",
            "fecha",
            "päivämäärä",
            "sent at",
            "στάλθηκε",
            "تم الإرسال",
            "נשלח",
            "trimis",
            "poslano",
            "đã gửi",
            "dikirim",
            "išsiųsta",
            "saadetud",
            "изпратено",
            "послато",
            "dihantar",
            "ส่ง",
            "भेजा गया",
            "enviat",
            "ارسال شده",
            "enviada em",
            "enviado em",
            "odoslané",
        ],
    ),
    (
        Label::To,
        &[
            "to",
            "an",
            "à",
            "aan",
            "a",
            "para",
            "til",
            "till",
            "do",
            "komu",
            "vastaanottaja",
            "címzett",
            "kime",
            "кому",
            "收件人",
            "宛先",
            "받는 사람",
            "cc",
            "kopie",
            "cci",
            "ccn",
            "kopia",
            "копия",
            "抄送",
            "at",
            "收件者",
            "προς",
            "إلى",
            "אל",
            "către",
            "prima",
            "đến",
            "kepada",
            "za",
            "kam",
            "за",
            "adressaat",
            "до",
            "per a",
            "ถึง",
            "प्रति",
            "به",
        ],
    ),
    (
        Label::Subject,
        &[
            "subject",
            "betreff",
            "objet",
            "onderwerp",
            "oggetto",
            "asunto",
            "assunto",
            "emne",
            "ämne",
            "temat",
            "předmět",
            "aihe",
            "tárgy",
            "konu",
            "тема",
            "主题",
            "主旨",
            "件名",
            "제목",
            "pwnc",
            "subiect",
            "θέμα",
            "الموضوع",
            "נושא",
            "predmet",
            "chủ đề",
            "perihal",
            "zadeva",
            "teema",
            "относно",
            "efni",
            "subjek",
            "เรื่อง",
            "विषय",
            "assumpte",
            "موضوع",
        ],
    ),
];

/// Openings of the signatures mail apps add ("Sent from my iPhone").
const DEVICE_SIGNATURES: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "sent from mailbox",
    "sent from typeapp",
    "sent from samsung",
    "sent from proton mail",
    "sent from protonmail",
    "sent from gmail",
    "sent from aol",
    "sent from spark",
    "sent from my galaxy",
    "sent with proton mail",
    "sent via ",
    "sent using ",
    "sent wirelessly from my ",
    "sent on the go from",
    "get outlook for ",
    "gesendet von ",
    "gesendet mit ",
    "von meinem ",
    "envoyé de mon ",
    "envoyé depuis ",
    "envoyé à partir de ",
    "obtenir outlook pour ",
    "enviado desde mi ",
    "enviado desde ",
    "enviado do meu ",
    "enviado a partir do ",
    "inviato da ",
    "inviato dal mio ",
    "verzonden vanaf mijn ",
    "verzonden met ",
    "verstuurd vanaf mijn ",
    "skickat från min ",
    "skickat från ",
    "sendt fra min ",
    "sendt fra ",
    "lähetetty ",
    "wysłane z ",
    "wysłano z ",
    "odesláno z ",
    "odoslané z ",
    "trimis de pe ",
    "изпратено от ",
    "dikirim dari ",
    "gửi từ ",
    "enviat des de",
    "saatetud minu ",
    "išsiųsta iš ",
    "nosūtīts no ",
    "poslano iz ",
    "poslano z ",
    "poslano s ",
    "ส่งจาก ",
    "dihantar dari ",
    "küldve ",
    "послато са ",
    "enviado de meu ",
    "मेरे iphone से भेजा गया",
    "sent from bluemail",
    "sent from mail.ru",
    "sent from yandex",
    "sent from nine",
    "sent from edison",
    "sent from windows mail",
    "sent with spark",
    "sent with airmail",
    "elküldve ",
    "отправлено с ",
    "отправлено из ",
    "надіслано з ",
    "anfonwyd o fy ",
    "发自我的",
    "从我的",
    "從我的",
    "iphoneから送信",
    "나의 iphone에서 보냄",
    "iphone'umdan gönderildi",
    "iphone-ról küldve",
    "στάλθηκε από",
    "נשלח מה-",
    "أرسلت من",
];

/// What a mail app's signature may add after it, as a second sentence (K-9 Mail's "Sent from
/// my Android device with K-9 Mail. Please excuse my brevity.").
pub(super) const SIGNATURE_APOLOGIES: &[&str] = &[
    "please excuse my brevity",
    "please excuse brevity",
    "please excuse my brevity and any typos",
    "please excuse any typos",
    "please excuse typos",
    "excuse my brevity",
    "sorry for the brevity",
];

/// Openings of corporate confidentiality notices.
const DISCLAIMERS: &[&str] = &[
    "confidentiality notice",
    "confidential:",
    "disclaimer:",
    "this email and any attachments",
    "this e-mail and any attachments",
    "this email is confidential",
    "this e-mail is confidential",
    "this message is confidential",
    "this email (including any attachments)",
    "this e-mail (including any attachments)",
    "the information contained in this",
    "the information in this email",
    "diese e-mail enthält vertrauliche",
    "ce message et toutes les pièces jointes",
];

/// Closings that end a reply when only a short name block follows.
pub(super) const CLOSINGS: &[&str] = &[
    "thanks",
    "thank you",
    "many thanks",
    "thanks again",
    "regards",
    "kind regards",
    "best regards",
    "warm regards",
    "best wishes",
    "best",
    "cheers",
    "diolch",
    "cofion",
    "mit freundlichen grüßen",
    "viele grüße",
    "beste grüße",
    "cordialement",
    "bien à vous",
    "met vriendelijke groet",
    "saludos",
];

/// A compiled table: which of its phrases a text contains and where (an Aho-Corasick
/// automaton: one pass over the text for all of them), which it begins with (the phrases by
/// their first byte: most lines are ruled out by it), and which it is.
pub(super) struct Phrases {
    matcher: AhoCorasick,
    /// Indexed by a phrase's first byte.
    by_first_byte: Vec<Vec<&'static str>>,
    exact: HashSet<&'static str>,
}

impl Phrases {
    fn new(phrases: &[&'static str]) -> Phrases {
        // Leftmost-longest: "napisał(a)" rather than "napisał" inside it.
        let matcher = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::LeftmostLongest)
            .build(phrases)
            .expect("the phrase tables are constants, and build");
        let mut by_first_byte = vec![Vec::new(); 256];
        for phrase in phrases {
            if let Some(&first) = phrase.as_bytes().first() {
                by_first_byte[usize::from(first)].push(*phrase);
            }
        }
        Phrases {
            matcher,
            by_first_byte,
            exact: phrases.iter().copied().collect(),
        }
    }

    /// The start and end offsets of every phrase found in `text`.
    pub(super) fn ends_in<'t>(
        &'t self,
        text: &'t str,
    ) -> impl Iterator<Item = (usize, usize)> + 't {
        self.matcher
            .find_iter(text)
            .map(|found| (found.start(), found.end()))
    }

    /// `text` begins with one of the phrases.
    pub(super) fn starts(&self, text: &str) -> bool {
        text.as_bytes()
            .first()
            .and_then(|&first| self.by_first_byte.get(usize::from(first)))
            .is_some_and(|candidates| candidates.iter().any(|phrase| text.starts_with(phrase)))
    }

    /// `text` is exactly one of the phrases.
    pub(super) fn is(&self, text: &str) -> bool {
        self.exact.contains(text)
    }
}

pub(super) static VERBS: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(ATTRIBUTION_VERBS));
pub(super) static OPENINGS: LazyLock<Phrases> =
    LazyLock::new(|| Phrases::new(ATTRIBUTION_OPENINGS));
static LEADING_OPENINGS: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(LINE_OPENINGS));

/// A line (or the text from where it is asked) starts with an attribution's opening word.
pub(super) fn opens_attribution(lower: &str) -> bool {
    OPENINGS.starts(lower) || LEADING_OPENINGS.starts(lower)
}
pub(super) static ORIGINALS: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(ORIGINAL_MESSAGE));
pub(super) static FORWARDS: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(FORWARDED));
pub(super) static SIGNATURES: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(DEVICE_SIGNATURES));
pub(super) static NOTICES: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(DISCLAIMERS));

/// Header-block labels by the first byte of their lower-case text: a line's candidate name
/// is compared with the few that begin as it does (their lengths first), cheaper than hashing
/// it, for every line with a colon near its start.
static LABELS: LazyLock<Vec<Vec<(&'static str, Label)>>> = LazyLock::new(|| {
    let mut by_first_byte = vec![Vec::new(); 256];
    for (label, words) in HEADER_LABELS {
        for word in *words {
            if let Some(&first) = word.as_bytes().first() {
                by_first_byte[usize::from(first)].push((*word, *label));
            }
        }
    }
    by_first_byte
});

/// The label a header-block line starts with (`From:`, `*De :*`, `发件人：`), if any.
pub(super) fn label_of(lower: &str) -> Option<Label> {
    let text = lower.trim_start_matches(['*', ' ']);
    // A label is a word or two: the colon (or CJK's full-width one, EF BC 9A in UTF-8) comes
    // within the first few bytes. Bytes, not characters: every line passes here.
    let head = &text.as_bytes()[..text.len().min(48)];
    let colon = head
        .iter()
        .enumerate()
        .find(|&(at, &byte)| {
            byte == b':' || (byte == 0xEF && head.get(at + 1..at + 3) == Some(&[0xBC, 0x9A]))
        })
        .map(|(at, _)| at)?;
    let name = text.get(..colon)?.trim_end_matches(['*', ' ', '\u{a0}']);
    let candidates = LABELS.get(usize::from(*name.as_bytes().first()?))?;
    candidates
        .iter()
        .find(|(word, _)| *word == name)
        .map(|(_, label)| *label)
}
