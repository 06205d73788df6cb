//! The core question: on the items of a pattern or a reason code, who was right.
