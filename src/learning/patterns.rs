//! The pattern catalog (SPEC §6, pattern keys of §10), each pattern with its evidence.
