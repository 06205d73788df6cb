//! Statistical tests, intervals and the Benjamini–Hochberg correction, checked against scipy.
