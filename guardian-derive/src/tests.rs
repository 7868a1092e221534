//! Unit tests of the expansion, run as plain functions over `proc_macro2` tokens.
