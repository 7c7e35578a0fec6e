//! Table tests: `JsonLogic`'s official suite, flagd's testbed scenarios, the file check and
//! evaluation rules.

mod check;
mod evaluate;
mod gherkin;
mod jsonlogic_suite;
mod properties;
mod testbed;
