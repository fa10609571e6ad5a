//! Leaf helpers for text that every stage may use; nothing here imports
//! another module of mlscore.

pub mod case;
pub mod inert;
pub mod number;
pub mod suggest;
