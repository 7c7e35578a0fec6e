//! Why a `JsonLogic` rule could not be evaluated; flagd reports each as `PARSE_ERROR`.

/// A rule that cannot be evaluated: an unknown operation (a typo, an unresolved `$ref`) or a
/// hostile rule that would take too deep a stack, too many steps or too much memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogicError {
    #[error("unknown operation `{0}`")]
    UnknownOperation(String),
    #[error("the rule nests deeper than {0} levels")]
    TooDeep(usize),
    #[error("the rule takes more than {0} steps to evaluate")]
    TooLong(usize),
    #[error("the rule builds a value larger than {0} elements or bytes")]
    TooLarge(usize),
}
