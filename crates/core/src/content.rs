//! Validated text of club activities: event details, announcements, comments, polls.

use std::fmt;

use serde::Serialize;

use crate::ValidationError;
use crate::text::text_value;

text_value!(
    /// An event's title (「通常練習」, 「定期演奏会」): 1 to 80 characters.
    EventTitle, "title", 1, 80, false
);
text_value!(
    /// Where an event happens, or where to meet: up to 100 characters.
    Place, "place", 0, 100, false
);
text_value!(
    /// What to bring (持ち物): up to 500 characters, line breaks allowed.
    Bring, "bring", 0, 500, true
);
text_value!(
    /// Notes on an event: up to 2,000 characters, line breaks allowed.
    Notes, "notes", 0, 2000, true
);
text_value!(
    /// The comment beside an attendance answer (「遅刻します」, 「早退」): up to 100 characters.
    AnswerComment, "comment", 0, 100, false
);
text_value!(
    /// An announcement's title: 1 to 100 characters.
    AnnouncementTitle, "title", 1, 100, false
);
text_value!(
    /// An announcement's body: 1 to 10,000 characters, line breaks allowed.
    AnnouncementBody, "body", 1, 10_000, true
);
text_value!(
    /// A comment under an event or an announcement: 1 to 2,000 characters.
    CommentBody, "body", 1, 2000, true
);
text_value!(
    /// A poll's question: 1 to 200 characters.
    PollQuestion, "question", 1, 200, false
);
text_value!(
    /// One choice of a poll: 1 to 80 characters.
    PollChoice, "options", 1, 80, false
);
