//! Asking the requester: the purpose question for a new request, and polite reminders while
//! it goes unanswered; the thanks once it is answered.

use jiff::Timestamp;

use crate::config::Reminders;
use crate::mail::{Acknowledgement, Outgoing, OutgoingKind, TokenQuestion};
use crate::request::idempotency_key;
use crate::store::{NewRequest, RequestRecord, Store, StoreError, Tx};

/// Queues the purpose question; its outbox id, or `None` when it was queued before.
pub fn queue_question(
    tx: &Tx<'_>,
    id: i64,
    new: &NewRequest,
    address: &str,
) -> Result<Option<i64>, StoreError> {
    let request = &new.request;
    let question = Outgoing::Question(TokenQuestion {
        request: id,
        org: request.org.clone(),
        token_name: request.token_name.clone(),
        owner: request.owner_login.clone(),
        repository_selection: request.repository_selection.as_str().to_string(),
        repositories: request.repositories.clone(),
        permissions: request.permissions.summary(),
        expires_at: request.token_expires_at.map(|time| time.to_string()),
        review_url: Some(crate::request::review_url(
            &request.org,
            Some(new.github_request_id),
        )),
    });
    tx.enqueue_mail(address, &question, &idempotency_key(id, "question"))
}

/// Thanks the requester, at the address patdesk has for them, quoting the purpose recorded:
/// had somebody else answered, the real requester sees what was taken.
pub fn acknowledge(tx: &Tx<'_>, record: &RequestRecord, purpose: &str) -> Result<(), StoreError> {
    let Some(address) = &record.owner_email else {
        return Ok(());
    };
    let mail = Outgoing::Acknowledgement(Acknowledgement {
        request: record.id,
        org: record.request.org.clone(),
        token_name: record.request.token_name.clone(),
        owner: record.request.owner_login.clone(),
        purpose: purpose.to_string(),
    });
    tx.enqueue_mail(
        address,
        &mail,
        &idempotency_key(record.id, "acknowledgement"),
    )?;
    Ok(())
}

/// Queues a reminder for each request whose question (or last reminder) went unanswered for
/// `interval`, at most `max` per request. Each has its own idempotency key, so a second call
/// at the same moment queues nothing. Returns how many were queued.
pub fn queue_reminders(
    tx: &Tx<'_>,
    now: Timestamp,
    reminders: &Reminders,
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for unanswered in tx.unanswered_questions()? {
        if unanswered.reminders >= reminders.max {
            continue;
        }
        if now.duration_since(unanswered.last_asked) < reminders.interval {
            continue;
        }
        let number = unanswered.reminders + 1;
        let key = idempotency_key(unanswered.request_id, format_args!("reminder-{number}"));
        // The reminder asks what the question asked, from the question's own payload.
        let question =
            match Outgoing::from_stored(OutgoingKind::Question.as_str(), &unanswered.payload) {
                Ok(Outgoing::Question(question)) => question,
                Ok(_) | Err(_) => {
                    tracing::warn!(
                        request = unanswered.request_id,
                        "the question's payload cannot be read: no reminder"
                    );
                    continue;
                }
            };
        let reminder = Outgoing::Reminder(question);
        if tx
            .enqueue_mail(&unanswered.recipient, &reminder, &key)?
            .is_some()
        {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues the reminders due now, in a transaction of their own.
pub fn queue_due_reminders(store: &mut Store, reminders: &Reminders) -> Result<usize, StoreError> {
    store.write(|tx| queue_reminders(tx, tx.time(), reminders))
}
