//! A seeded simulator of trading weeks: price paths, an algorithm selling ~0.30-delta
//! options at Black–Scholes premiums, and trader personas with planted behaviour.
