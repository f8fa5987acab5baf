//! Reply extraction, case by case: each client's and language's way of quoting.

use super::extract_reply;

fn reply(text: &str) -> String {
    extract_reply(text, None).unwrap_or_default()
}

#[test]
fn top_posted_reply_above_a_marked_quote() {
    let text = "It syncs labels.\n\nOn Tue, 3 Mar 2026 at 10:00, PAT desk <ops@example.org> wrote:\n> What is it for?\n> Thanks\n";
    assert_eq!(reply(text), "It syncs labels.");
}

#[test]
fn attribution_wrapped_over_two_lines() {
    let text = "Reads issues.\n\nOn Tue, 3 Mar 2026 at 10:00, PAT desk <ops@example.org>\nwrote:\n\n> question\n";
    assert_eq!(reply(text), "Reads issues.");
}

#[test]
fn inline_answers_between_quotes_are_kept() {
    let text =
        "On Tue, Bob wrote:\n> What is it for?\nPublishing releases.\n> How long?\nA month.\n";
    assert_eq!(reply(text), "Publishing releases.\nA month.");
}

#[test]
fn attribution_followed_by_unquoted_original_cuts() {
    let text =
        "Yes.\n\nAm 03.03.2026 um 10:00 schrieb PAT desk <ops@example.org>:\nWhat is it for?\n";
    assert_eq!(reply(text), "Yes.");
}

#[test]
fn outlook_header_block_cuts_everything_below() {
    let text = "For the deploy job.\n\n________________________________\nFrom: PAT desk <ops@example.org>\nSent: 03 March 2026 10:00\nTo: Alice <a@example.org>\nSubject: [PAT-1] purpose\n\nWhat is it for?\n";
    assert_eq!(reply(text), "For the deploy job.");
}

#[test]
fn signatures_and_closings() {
    assert_eq!(reply("Backups.\n-- \nAlice\nPlatform"), "Backups.");
    assert_eq!(reply("Backups.\n\nSent from my iPhone"), "Backups.");
    assert_eq!(
        reply("Backups.\n\nKind regards,\nAlice Smith\nPlatform team"),
        "Backups."
    );
    // A closing with more than a name block after it is part of the text.
    let long = "Thanks,\nthe token reads issues for the weekly report that we send to the board";
    assert_eq!(reply(long), long);
    // A name block is five short lines at most, blank lines among them not counted.
    let block = "Backups.\n\nBest,\nAlice Smith\n\nPlatform\nAcme\n+1 555 0100\nBerlin\n";
    assert_eq!(reply(block), "Backups.");
    let six = "Backups.\n\nBest,\nAlice Smith\n\nPlatform\nAcme\n+1 555 0100\nBerlin\nGermany\n";
    // An app's signature has at most three short lines after it.
    assert_eq!(
        reply("Backups.\n\nSent from my iPhone\nAlice\n\nPlatform\nAcme"),
        "Backups."
    );
    let four = "Backups.\n\nSent from my iPhone\nAlice\nPlatform\nAcme\nBerlin";
    assert_eq!(reply(four), four);
    // A postscript or a sentence after the name is the person's text: the closing stays.
    for after in [
        "Thanks,\nAlice\n\nP.S. It also needs read access to acme-corp/web.",
        "Cheers,\nAlice\nPS: and the wiki too",
        "Thanks!\nCould you approve it today? We deploy at 5.",
        "Sent from my iPhone\nP.S. and the wiki",
    ] {
        let text = format!("Backups.\n\n{after}");
        assert_eq!(reply(&text), text, "{after:?}");
    }
    // A rule drawn above a name that went, or at the very end, goes with it.
    assert_eq!(reply("Backups.\n\n---\nCheers,\nAlice Smith"), "Backups.");
    assert_eq!(reply("Backups.\n===\n"), "Backups.");
    assert_eq!(reply("Backups.\n---\nWeekly."), "Backups.\n---\nWeekly.");
    assert_eq!(reply(six), six.trim_end().replace("\n\n\n", "\n\n"));
}

#[test]
fn nothing_of_their_own_is_none() {
    assert_eq!(extract_reply("> only a quote\n", None), None);
    assert_eq!(extract_reply("\n \n", None), None);
}

#[test]
fn a_closing_block_that_starts_with_the_authors_name() {
    let signed = |text, author| extract_reply(text, Some(author)).unwrap_or_default();
    assert_eq!(
        signed("Reads metrics.\n\nGita", "Gita Rao"),
        "Reads metrics."
    );
    assert_eq!(
        signed("Plans.\n\nFrank Ng | Senior Engineer\nAcme", "Frank Ng"),
        "Plans."
    );
    assert_eq!(
        signed("Backups.\nLee Kim\nPlatform", "Kim, Lee"),
        "Backups."
    );
    // A name beyond ASCII, in whatever case the line writes it.
    assert_eq!(
        signed("Backups.\n\nÅsa Lindström\nPlattform", "Åsa Lindström"),
        "Backups."
    );
    assert_eq!(signed("Backups.\n\nÅSA", "Åsa Lindström"), "Backups.");
    assert_eq!(signed("Backups.\n\nGITA RAO", "Gita Rao"), "Backups.");
    // The name alone is the whole reply: nothing to cut it from.
    assert_eq!(signed("Gita", "Gita Rao"), "Gita");
    // A sentence that merely starts with the first name is text.
    assert_eq!(
        signed("Reads.\nGita will own it.", "Gita Rao"),
        "Reads.\nGita will own it."
    );
}

/// The reply above each attribution line, in the form each client and language writes it.
#[test]
fn attribution_lines_of_every_language_and_client() {
    let answer = "It publishes the docs site.";
    let attributions = [
        // Polish: Gmail, Thunderbird
        "Dnia 30 kwietnia 2025 15:19 Jan Kowalski <jan@example.pl> napisał(a):",
        "W dniu 30.04.2025 o 15:19, Jan Kowalski pisze:",
        // Finnish, Estonian, Hungarian
        "ke 30. huhtik. 2025 klo 15.19 Matti Meikäläinen (matti@example.fi) kirjoitti:",
        "K, 30. aprill 2025 kell 15:19 Mari Maasikas <mari@example.ee> kirjutas:",
        "Kiss Péter <peter@example.hu> ezt írta (időpont: 2025. ápr. 30., Sze 15:19):",
        // Russian and Ukrainian: Gmail (verb-less), Outlook, Thunderbird
        "ср, 30 апр. 2025 г. в 15:19, Иван Петров <ivan@example.ru>:",
        "30.04.2025 15:19, пользователь Иван Петров написал:",
        "30.04.2025 о 15:19 Олена Коваль <olena@example.ua> написав:",
        // Dutch, Vietnamese, Catalan, Norwegian/Danish/Swedish Gmail
        "Op 30 apr 2025 om 15:19 heeft Jan Jansen <jan@example.nl> het volgende geschreven:",
        "Vào Th 4, 30 thg 4, 2025 vào lúc 15:19 Nguyễn Văn A <a@example.vn> đã viết:",
        "El dc., 30 d’abr. 2025, a les 15:19, Joan Puig (<joan@example.cat>) va escriure:",
        "ons. 30. apr. 2025 kl. 15:19 skrev Ola Nordmann <ola@example.no>:",
        // Chinese, Japanese and Korean: Gmail and Apple Mail
        "王小明 <wang@example.cn> 于2025年4月30日周三 15:19写道：",
        "2025年4月30日(水) 15:19 山田太郎 <yamada@example.jp>:",
        "2025/04/30 15:19、山田太郎 <yamada@example.jp>のメール:",
        "2025년 4월 30일 (수) 오후 3:19, 김철수 <kim@example.kr>님이 작성:",
        // mail.ru, date-first Gmail, verb-less forms
        "Среда, 30 апреля 2025, 15:19 +03:00 от Иван Петров <ivan@mail.ru>:",
        "2014-03-20 8:48 GMT+01:00 Jan Novák <jan@example.cz>:",
        "30.09.2017, 18.30, \"John - Doe\" <john@example.org>:",
        "11:00 AM, November 17, 2021, \"Jane Roe\" <jane@example.org>:",
        "2011/4/7 Wang Wei <wei@example.cn>",
        // English variants: no colon, Zoho's dashes
        "On Wed, Apr 30, 2025 at 3:19 PM Bob Smith <bob@example.org> wrote",
        "---- On Wed, 30 Apr 2025 15:19:00 +0000 Bob Smith <bob@example.org> wrote ----",
        // Gmail in Spanish, Portuguese, Italian, French, Turkish, Greek, Czech, Arabic
        "El mié, 30 abr 2025 a las 15:19, Ana García (<ana@example.es>) escribió:",
        "Em qua., 30 de abr. de 2025 às 15:19, João Silva <joao@example.pt> escreveu:",
        "Il giorno mer 30 apr 2025 alle ore 15:19 Marco Rossi <marco@example.it> ha scritto:",
        "Le mer. 30 avr. 2025 à 15:19, Claire Martin <claire@example.fr> a écrit :",
        "Ali Veli <ali@example.tr>, 30 Nis 2025 Çar, 15:19 tarihinde şunu yazdı:",
        "Στις Τετ 30 Απρ 2025 στις 3:19 μ.μ., ο/η Νίκος <nikos@example.gr> έγραψε:",
        "st 30. 4. 2025 v 15:19 odesílatel Jan Novák <jan@example.cz> napsal:",
        "في الأربعاء، 30 أبريل 2025 في 3:19 م، كتب سامي <sami@example.sa>:",
        // Apple Mail and Thunderbird in other languages
        "Wiadomość napisana przez Jan Kowalski <jan@example.pl> w dniu 30.04.2025, o godz. 15:19:",
        "30 апр. 2025 г., в 15:19, Иван <ivan@example.ru> написал(а):",
        "Am 30.04.25 um 15:19 schrieb Max:",
        "Matti Meikäläinen kirjoitti 30.4.2025 klo 15.19:",
        "Op 30-04-2025 om 15:19 schreef Jan:",
        "Den 2025-04-30 kl. 15:19, skrev Lena:",
        "30.04.25 15:19, Олена пише:",
        "2025-04-30 오후 3:19에 김철수 이(가) 쓴 글:",
        // Gmail in Galician, Basque, Afrikaans, Albanian, Icelandic, Filipino, Swahili,
        // Persian and Hindi
        "O mér., 30 de abr. de 2025 ás 15:19, Xoán (<xoan@example.gal>) escribiu:",
        "Miren (<miren@example.eus>) erabiltzaileak hau idatzi zuen (2025 api. 30, az. (15:19)):",
        "Op Wo., 30 Apr. 2025 om 15:19 het Piet <piet@example.za> geskryf:",
        "Arben <arben@example.al> shkroi më Mër, 30 Pri 2025 në 15:19:",
        "mið., 30. apr. 2025 kl. 15:19 skrifaði Jón <jon@example.is>:",
        "Noong Miy, Abr 30, 2025 nang 3:19 PM, sinulat ni Juan <juan@example.ph>:",
        "Mnamo Jtn, 30 Apr 2025 saa 15:19, Amani <amani@example.tz> aliandika:",
        "Dara <dara@example.ir> در تاریخ چهارشنبه ۳۰ آوریل ۲۰۲۵ ساعت ۱۵:۱۹ نوشت:",
        "बुध, 30 अप्रैल 2025 को 3:19 pm बजे Ravi <ravi@example.in> ने लिखा:",
        // Tuta, in English and German
        "30 Apr 2025, 15:19 by bob@example.org:",
        "30. Apr. 2025, 15:19 von max@example.de:",
        // A language no table lists: a date, an address and the colon, above a quote
        "বুধ, ৩০ এপ্রি, 2025 এ 3:19 PM এ রবি <rabi@example.in> লিখেছেন:",
        "রবি <rabi@example.in> লিখেছেন:",
        // Horde, and Thunderbird told to name only the author
        "Quoting Bob Smith <bob@example.org>:",
        "Zitat von Max Muster <max@example.de>:",
        "Bob Smith wrote:",
    ];
    for attribution in attributions {
        let text =
            format!("{answer}\n\n{attribution}\n> What will the token be used for?\n> Thanks\n");
        assert_eq!(reply(&text), answer, "after {attribution:?}");
    }
}

/// Gmail's attributions in the languages added later cut the original below them even where
/// it is not quoted; the verb-less and name-only ones are believed only before a quote.
#[test]
fn attributions_with_a_verb_cut_an_unquoted_original() {
    for attribution in [
        "O mér., 30 de abr. de 2025 ás 15:19, Xoán (<xoan@example.gal>) escribiu:",
        "Op Wo., 30 Apr. 2025 om 15:19 het Piet <piet@example.za> geskryf:",
        "Arben <arben@example.al> shkroi më Mër, 30 Pri 2025 në 15:19:",
        "Dara <dara@example.ir> در تاریخ چهارشنبه ۳۰ آوریل ۲۰۲۵ ساعت ۱۵:۱۹ نوشت:",
        "Mnamo Jtn, 30 Apr 2025 saa 15:19, Amani <amani@example.tz> aliandika:",
    ] {
        let text = format!("Deploys.\n\n{attribution}\n\nWhat is it for?\n");
        assert_eq!(reply(&text), "Deploys.", "above {attribution:?}");
    }
    for own in [
        "Bob Smith wrote:",
        "Quoting Bob Smith <bob@example.org>:",
        "Send it to ops@example.org by 5 December:",
        "Ask Bob <bob@example.org> about it:",
    ] {
        let text = format!("Deploys.\n\n{own}\nthe weekly report, nothing else.\n");
        assert_eq!(reply(&text), text.trim_end(), "no quote after {own:?}");
    }
    // A sentence of the person's before "wrote:" is no name.
    let sentence = "Sounds good. Bob wrote:\n> What is it for?\n> Thanks\nIt reads issues.";
    assert_eq!(reply(sentence), "Sounds good. Bob wrote:\nIt reads issues.");
}

/// Emacs mail readers that answer below the quote: Mew heads it with the quoted message's
/// own header lines, Wanderlust with a two-line attribution in either of its forms.
#[test]
fn answers_below_the_citations_of_mew_and_wanderlust() {
    let answer = "It reads the issues for the weekly report.";
    for citation in [
        "From: PAT desk <ops@example.org>\nSubject: [PAT-3] What will the token be used for?\nDate: Thu, 30 Apr 2025 15:19:00 +0000\nMessage-ID: <pat-3.question@example.org>\n",
        "At Thu, 30 Apr 2025 15:19:00 +0000,\nPAT desk wrote:",
        "In <pat-3.question@example.org>\n    \"PAT desk\" <ops@example.org> wrote:",
    ] {
        let text =
            format!("{citation}\n> What will the token be used for?\n> Thanks\n\n{answer}\n");
        assert_eq!(reply(&text), answer, "below {citation:?}");
    }
    // Outlook's block names the recipient: the earlier message starts there, quoted or not.
    let outlook = "It reads issues.\n\nFrom: PAT desk <ops@example.org>\nSent: 30 April 2025 15:19\nTo: Alice\nSubject: [PAT-3]\n\n> An older quote\n\nThe earlier message.\n";
    assert_eq!(reply(outlook), "It reads issues.");
}

#[test]
fn an_attribution_wrapped_over_three_lines() {
    let text = "Release notes.\n\nOn Wednesday, April 30, 2025 at 3:19 PM,\nThe Platform Team <pat-requests@example.org>\nwrote:\n> What is it for?\n";
    assert_eq!(reply(text), "Release notes.");
}

#[test]
fn an_address_wrapped_onto_the_next_line() {
    let text = "Reads issues.\n\n2014-10-17 11:28 GMT+03:00 Postmaster <\npostmaster@example.org>:\n\n> What is it for?\n";
    assert_eq!(reply(text), "Reads issues.");
    let text = "Reads issues.\n\nOn Thu, Apr 19, 2012 at 4:28 PM, Roman Tkachenko <\nroman@example.org> wrote:\n\n> What is it for?\n";
    assert_eq!(reply(text), "Reads issues.");
    // Sentences that start with a number are not joined into one.
    let text = "2 repositories need it:\nacme-corp/api and acme-corp/web.";
    assert_eq!(reply(text), text);
}

#[test]
fn outlook_blocks_with_bold_labels_and_mailto() {
    let text = "Outlook with a reply\n\n\n ------------------------------\n\n *From:* Sync Team [mailto:noreply@example.com]\n *Sent:* Thursday, February 09, 2012 1:36 PM\n *To:* jow@example.com\n *Subject:* Sync was updated!\n\nHello\n";
    assert_eq!(reply(text), "Outlook with a reply");
}

/// An HTML mail's header block that the converter left on one line.
#[test]
fn an_outlook_header_block_on_one_line() {
    let text = "Works.\n\nFrom: Bob [mailto:bob@example.com] Sent: Tuesday, February 10, 2015 10:13 AM To: Alice Subject: Re: purpose\n\nWhat is it for?\n";
    assert_eq!(reply(text), "Works.");
    let forward = "For the audit.\n\n*From:* Vendor <v@example.com> *Sent:* 30 April 2025 15:19 *To:* Alice *Subject:* FW: Access\n\nRead access, please.\n";
    assert!(
        reply(forward).ends_with("Read access, please."),
        "{}",
        reply(forward)
    );
    // A line of the person's that starts with "From:" and names one more label is theirs.
    let own = "From: the CI runner, to: the registry.\nThat is all it does.";
    assert_eq!(reply(own), own);
}

#[test]
fn original_message_separators_in_other_wordings() {
    for separator in [
        "----- Original Message -----",
        "-----Ursprüngliche Nachricht-----",
        "-------- Oprindelig besked --------",
        "-------- Message d'origine --------",
        "-----Antwort Nachricht-----",
        "-------- Mensaje original --------",
        "------------------ 原始邮件 ------------------",
        "-------- Original-Nachricht --------",
        "-------- Missatge original --------",
        "----- Izvirno sporočilo -----",
        "-------- Pesan Asli --------",
        "-----邮件原件-----",
    ] {
        let text = format!("Nightly backups.\n\n{separator}\nFrom: PAT desk\nWhat is it for?\n");
        assert_eq!(reply(&text), "Nightly backups.", "after {separator:?}");
    }
}

#[test]
fn outlook_header_blocks_in_other_languages() {
    let blocks = [
        "De : PAT desk <ops@example.org>\nEnvoyé : mercredi 30 avril 2025 15:19\nÀ : Alice <a@example.org>\nObjet : [PAT-1] purpose",
        "De : PAT desk <ops@example.org>\nEnvoyé le : mercredi 30 avril 2025 15:19\nÀ : Alice\nObjet : [PAT-1]",
        "Von: PAT desk <ops@example.org>\nGesendet: Mittwoch, 30. April 2025 15:19\nAn: Alice\nBetreff: [PAT-1]",
        "От: PAT desk <ops@example.org>\nОтправлено: 30 апреля 2025 г. 15:19\nКому: Алиса\nТема: [PAT-1]",
        "发件人: PAT desk <ops@example.org>\n发送时间: 2025年4月30日 15:19\n收件人: Alice\n主题: [PAT-1]",
        "Van: PAT desk <ops@example.org>\nVerzonden: woensdag 30 april 2025 15:19\nAan: Alice\nOnderwerp: [PAT-1]",
        "Da: PAT desk <ops@example.org>\nInviato: mercoledì 30 aprile 2025 15:19\nA: Alice\nOggetto: [PAT-1]",
        "Date: Wed, 30 Apr 2025 15:19:00 +0000\nFrom: PAT desk <ops@example.org>\nTo: Alice\nSubject: [PAT-1]",
        "*From:* PAT desk <ops@example.org>\n*Sent:* Wednesday, April 30, 2025 3:19 PM\n*To:* Alice\n*Subject:* [PAT-1]",
        "Od: PAT desk <ops@example.org>\nWysłano: środa, 30 kwietnia 2025 15:19\nDo: Alicja\nTemat: [PAT-1]",
        "差出人: PAT desk <ops@example.org>\n送信日時: 2025年4月30日 15:19\n宛先: Alice\n件名: [PAT-1]",
        "Από: PAT desk <ops@example.org>\nΣτάλθηκε: Τετάρτη, 30 Απριλίου 2025 3:19 μμ\nΠρος: Alice\nΘέμα: [PAT-1]",
        "Kimden: PAT desk <ops@example.org>\nGönderildi: 30 Nisan 2025 Çarşamba 15:19\nKime: Alice\nKonu: [PAT-1]",
        "Od: PAT desk <ops@example.org>\nPoslano: sreda, 30. april 2025 15:19\nZa: Alice\nZadeva: [PAT-1]",
        "От: PAT desk <ops@example.org>\nИзпратено: 30 април 2025 г. 15:19\nДо: Alice\nОтносно: [PAT-1]",
        "Saatja: PAT desk <ops@example.org>\nSaadetud: 30. aprill 2025 15:19\nAdressaat: Alice\nTeema: [PAT-1]",
        "De: PAT desk <ops@example.org>\nEnviat: dimecres, 30 d’abril de 2025 15:19\nPer a: Alice\nAssumpte: [PAT-1]",
        "จาก: PAT desk <ops@example.org>\nส่ง: 30 เมษายน 2568 15:19\nถึง: Alice\nเรื่อง: [PAT-1]",
    ];
    for block in blocks {
        let text = format!("Deploys the API.\n\n{block}\n\nWhat will the token be used for?\n");
        assert_eq!(reply(&text), "Deploys the API.", "above {block:?}");
    }
}

#[test]
fn app_signatures_and_list_footers_are_cut() {
    for signature in [
        "Sent from TypeApp",
        "Gesendet von Outlook für Android",
        "Sent from Mailbox for iPhone",
        "Sent wirelessly from my BlackBerry® smartphone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Inviato dal mio iPhone",
        "Verzonden vanaf mijn iPhone",
        "Skickat från min iPhone",
        "Отправлено с iPhone",
        "发自我的iPhone",
        "Get Outlook for iOS",
        "Get Outlook for Android<https://aka.ms/AAb9ysg>",
        "Enviado do meu iPhone",
        "Lähetetty iPhonesta",
        "나의 iPhone에서 보냄",
        "Sent from my Android device with K-9 Mail. Please excuse my brevity.",
        "Wysłano z mojego smartfona Samsung Galaxy.",
        "Odoslané z iPhonu",
        "Trimis de pe iPhone-ul meu",
        "Dikirim dari iPhone saya",
        "Gửi từ iPhone của tôi",
        "Enviat des del meu iPhone",
        "Изпратено от моя iPhone",
        "Sent with Spark",
        "Sent from BlueMail",
        "Dihantar dari iPhone saya",
        "—\nSent from Mailbox",
    ] {
        let text = format!("Reads the metrics.\n\n{signature}\n");
        assert_eq!(reply(&text), "Reads the metrics.", "{signature:?}");
    }
    let footer = "Reads the metrics.\n\n__\nplatform-list mailing list\nhttps://lists.example.org/platform\n";
    assert_eq!(reply(footer), "Reads the metrics.");
}

#[test]
fn the_persons_own_text_is_never_lost() {
    // Prose that merely begins like a device signature.
    let prose = "Sent from my desk, is much easier than my phone. The token reads issues.";
    assert_eq!(reply(prose), prose);
    // Text on the same line before the attribution.
    let same_line = "Sounds good, it reads issues. On Wed, Apr 30, 2025 at 3:19 PM Bob <bob@example.org> wrote:\n> What is it for?\n";
    assert_eq!(reply(same_line), "Sounds good, it reads issues.");
    // Text with no sentence's end before the attribution, or glued to it by a rule.
    let no_stop = "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi\n";
    assert_eq!(reply(no_stop), "reply");
    let glued =
        "reply\nbla-bla - bla--- On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi\n";
    assert_eq!(reply(glued), "reply\nbla-bla - bla");
    // An attribution whose own date ends in "AM" is not split there.
    let am =
        "Fine.\n\nOn Wed, Apr 4, 2012 at 3:59 AM Bob <bob@example.org> wrote:\nWhat is it for?\n";
    assert_eq!(reply(am), "Fine.");
    // "wrote:" inside the answer does not cut off the rest.
    let quoting = "Here is what my manager wrote:\nthe token syncs labels for the release board.\n";
    assert_eq!(reply(quoting), quoting.trim_end());
    let as_bob = "As Bob wrote: it syncs labels.\nAnd it reads milestones.";
    assert_eq!(reply(as_bob), as_bob);
    // A notice's opening word that opens the person's text is theirs.
    let confidential = "Confidential: the token reads the HR repository.\nIt is for the audit.";
    assert_eq!(reply(confidential), confidential);
    assert_eq!(
        reply("It is for the audit.\n\nConfidential: for the addressee only."),
        "It is for the audit."
    );
    let told = "On 3 Dec I wrote:\nthe token is for the weekly report.";
    assert_eq!(reply(told), told);
    let counted = "I wrote 2 scripts for it:\nthey read issues and post the weekly summary.";
    assert_eq!(reply(counted), counted);
}

#[test]
fn a_forwarded_message_is_kept_after_the_note() {
    let text = "See the request from our vendor below.\n\n---------- Forwarded message ---------\nFrom: Vendor <v@example.com>\nDate: Wed, Apr 30, 2025\nSubject: Access\nTo: Alice\n\nWe need read access to the issues.\n";
    assert_eq!(
        reply(text),
        "See the request from our vendor below.\n\n---------- Forwarded message ---------\nFrom: Vendor <v@example.com>\nDate: Wed, Apr 30, 2025\nSubject: Access\nTo: Alice\n\nWe need read access to the issues."
    );
    // Only a forward: the forward is the content.
    let only = "Begin forwarded message:\n\nFrom: Vendor <v@example.com>\nSubject: Access\nDate: 30 April 2025\nTo: Alice\n\nRead access, please.\n";
    assert!(
        reply(only).contains("Read access, please."),
        "{}",
        reply(only)
    );
    // Outlook's forward: a header block with FW:.
    let outlook = "For the audit.\n\n________________________________\nFrom: Vendor <v@example.com>\nSent: 30 April 2025 15:19\nTo: Alice\nSubject: FW: Access\n\nRead access, please.\n";
    assert!(
        reply(outlook).ends_with("Read access, please."),
        "{}",
        reply(outlook)
    );
}

#[test]
fn a_wrapped_quote_line_is_not_an_inline_answer() {
    let text = "On Wed, Bob <bob@example.org> wrote:\n> What will the token be used for, and which repositories does it\nneed to read?\n> Thanks\nThe release board, in acme-corp/web.\n";
    assert_eq!(reply(text), "The release board, in acme-corp/web.");
    // Under a whole quoted sentence, a line in lower case is an answer.
    let answer = "> Will the token need write access to acme-corp/api, or only read access to issues?\nno, read only.\n> How long?\na week\n";
    assert_eq!(reply(answer), "no, read only.\na week");
}

/// A quoted link whose line the client wrapped, the next line's `>` left at its end.
#[test]
fn a_quoted_link_with_its_marker_at_the_end_is_quoted() {
    let text = "Blah\n\nOn Thu, Oct 25, 2012 at 3:03 PM, Bob <bob@example.org> wrote:\n\n>\n> Post a response by replying to this email\n>\n (http://example.com/c/YzOTYzMmE) >\n> life is short. (http://example.com/c/YzMmE)\n>\n";
    assert_eq!(reply(text), "Blah");
    // A link of the person's between quotes, in brackets, is an answer.
    let own =
        "> Where is the runbook?\n<https://wiki.example.org/runbook>\n> And the owner?\nPlatform.";
    assert_eq!(reply(own), "<https://wiki.example.org/runbook>\nPlatform.");
}

#[test]
fn a_lone_greater_than_line_is_the_persons_only_where_nothing_else_is_quoted() {
    // The one `>` of the mail, among the person's lines, no attribution: theirs.
    let own = "It needs read access to\n> 50 repositories? No: only acme-corp/api.\nThat is all.";
    assert_eq!(reply(own), own);
    // Inline answers between quotes (an HTML reply's blockquotes): the questions go.
    let inline = "> What is it for?\nIt reads issues.\n> Write access?\nNo.";
    assert_eq!(reply(inline), "It reads issues.\nNo.");
    // Space-stuffed by a flowed client, right after the person's text: theirs, unstuffed.
    let flowed = "The rule:\n >read only.\n\nOn Tue, 3 Mar 2026 at 10:00, PAT desk <ops@example.org> wrote:\n> What is it for?\n";
    assert_eq!(reply(flowed), "The rule:\n>read only.");
}

/// The lines keep a borrowed lower-case form unless a character beyond ASCII changes case:
/// that test must know every such character, or a line would be compared in the wrong case.
#[test]
fn every_character_that_lower_casing_changes_is_known() {
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        let unchanged = c.to_lowercase().eq(std::iter::once(c));
        assert!(
            unchanged || c.is_ascii() || super::case_changes_beyond_ascii(&c.to_string()),
            "{c:?} (U+{:04X}) changes case unnoticed",
            u32::from(c)
        );
    }
}

/// Lines split as `str::lines` splits them, with the lower-case form `to_lowercase` gives.
#[test]
fn lines_split_and_lower_case_as_the_standard_library_does() {
    for text in [
        "",
        "\n",
        "a",
        "a\n",
        "a\r\nb\r\n",
        "a\n\nb",
        "\r\n\r\n",
        "end\r",
        "x\r\ry\n",
        "  Von: Ärger  \r\n\tΣΑΣ wrote:\nçà et là ǅ\n",
    ] {
        let ascii_lower = text.to_ascii_lowercase();
        let lines = super::lines_of(text, &ascii_lower);
        let expected: Vec<&str> = text.lines().collect();
        let texts: Vec<&str> = lines.iter().map(|line| line.text).collect();
        assert_eq!(texts, expected, "{text:?}");
        for line in &lines {
            assert_eq!(line.lower, line.text.trim().to_lowercase(), "{text:?}");
        }
    }
}

/// The byte test that rules most lines out says no only where the full test, one character
/// at a time, says no too: every line of up to four characters from a set with names, quotes,
/// addresses and letters beyond ASCII, and names around the longest Supercite writes.
#[test]
fn supercite_prefixes_are_found_as_a_character_by_character_reading_finds_them() {
    fn by_characters(lower: &str) -> Option<usize> {
        if lower.starts_with(|c: char| c.is_ascii() && !c.is_ascii_alphabetic()) {
            return None;
        }
        let (at, _) = lower
            .char_indices()
            .take(super::MAX_SUPERCITE_NAME + 1)
            .find(|(_, c)| *c == '>')?;
        let name = &lower[..at];
        let plain = !name.is_empty()
            && name.starts_with(|c: char| c.is_alphabetic())
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        plain.then_some(at)
    }
    let alphabet = [
        'a', 'z', '1', '-', '_', '>', ' ', '.', '<', '\t', 'é', 'ǆ', '→', '𝔞',
    ];
    let mut lines = vec![String::new()];
    for _ in 0..4 {
        let longer: Vec<String> = lines
            .iter()
            .flat_map(|line| alphabet.iter().map(move |c| format!("{line}{c}")))
            .collect();
        lines.extend(longer);
    }
    for letters in 10..=14 {
        for letter in ["a", "é", "𝔞"] {
            lines.push(format!("{}> quoted", letter.repeat(letters)));
        }
    }
    lines.sort();
    lines.dedup();
    for line in &lines {
        assert_eq!(
            super::supercite_prefix(line),
            by_characters(line),
            "{line:?}"
        );
    }
}
