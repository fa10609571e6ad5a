//! Leaf helpers for text that every stage may use; nothing here imports
//! another module of mlscore.

pub mod case;
pub mod find;
pub mod halves;
pub mod inert;
pub mod number;
pub mod path;
pub mod pattern_set;
pub mod suggest;
