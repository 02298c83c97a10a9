"""What each figure means, shown as help text beside it; docs/metrics.md says the same at
length. The keys are the figures' names in the JSON API."""

from __future__ import annotations

from service.i18n import N_, gettext

DEFINITIONS = {
    "questions.asked": N_(
        "Questions sent in the period, including chats the visitor turned into a question."
    ),
    "questions.published": N_("Questions whose answer was published on the board in the period."),
    "questions.answered_privately": N_(
        "Questions answered in the period only to the asker, read with the follow-up code."
    ),
    "questions.rejected": N_(
        "Questions staff declined to answer in the period, with a reason shown to the asker."
    ),
    "questions.deleted": N_("Questions the asker deleted with their follow-up code in the period."),
    "questions.first_answer": N_(
        "For questions asked in the period and answered since: the time from asking to the "
        "first answer, published or private. Median and 90th percentile by nearest rank."
    ),
    "questions.within": N_(
        "Of questions asked in the period, the share answered within 1 and 5 working days "
        "(weekdays that are not Finnish public holidays, counted in Helsinki time). Rejected "
        "and deleted questions without an answer are left out; a question still waiting counts "
        "as late once the days have passed."
    ),
    "chat.attempts": N_(
        "Every time a young person tried to start a chat, split by whether the chat was open "
        "then. An attempt while closed is turned away; it is still counted as demand."
    ),
    "chat.answered": N_("Chats in which a staff member wrote to the young person."),
    "chat.abandoned": N_(
        "Chats that ended while still in the queue, before anyone took them: the young person "
        "left, or their connection was gone too long."
    ),
    "chat.timed_out": N_(
        "Chats ended because the young person went silent and away after a staff member took "
        "the chat."
    ),
    "chat.converted": N_(
        "Chats the young person turned into a question for a later answer (counted here, not as"
        " abandoned)."
    ),
    "chat.transfers": N_("Times a staff member passed a chat to a colleague or to the other role."),
    "chat.queue_wait": N_(
        "From the chat request to the first staff member taking it, for chats taken in the period."
    ),
    "chat.abandon_wait": N_("How long abandoned chats waited in the queue before they ended."),
    "chat.first_response": N_(
        "From a staff member taking the chat to their first message (text or referral card)."
    ),
    "chat.handle_time": N_(
        "From the first staff member taking the chat to its end, including transfers; for chats"
        " that ended after being taken."
    ),
    "demand.attempts": N_("Chat contact attempts by Helsinki weekday and hour."),
    "demand.staffed": N_(
        "The share of each weekday-hour in the period during which at least one counsellor or "
        "adviser was available for chats."
    ),
    "demand.staffed_hours": N_(
        "Hours in the period during which at least one counsellor or adviser was available for "
        "chats."
    ),
    "demand.closed_share": N_(
        "The share of chat contact attempts that came while the chat was closed: where adding "
        "hours would meet demand."
    ),
    "referrals.by_service": N_("Referral cards sent in answers and chats, by service."),
    "referrals.by_category": N_("Referral cards by the topic of the question or chat."),
    "ratings.helped": N_("Of ratings that answered “did this help?”, the share that said yes."),
    "ratings.mean_score": N_("The mean of the 1–5 scores given."),
    "ratings.response": N_("Ratings given per chat that ended after a staff member took it."),
    "staff": N_(
        "Questions answered and chats ended per staff member in the period, with the median "
        "handle time of their chats. A transferred chat counts for whoever ended it."
    ),
}


def definition(key: str) -> str:
    """The figure's definition in the reader's language."""
    return gettext(DEFINITIONS[key])
