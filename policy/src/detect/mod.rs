//! One detector per sink family. Each follows the same shape: the candidate inputs already occur
//! in the sink argument; tokenize the argument by its own grammar; report only when an input
//! changes the structure (spans several tokens, or forms an operator, command word, comment,
//! `..` segment, new host…).

pub mod command;
pub mod path;
pub mod shell;
pub mod sql;
pub mod ssrf;
