//! Whether an action's input has a JSON Schema, found where the action is
//! written: the macro calls `(&&SchemaProbe::<Input>::NEW).input_schema()`,
//! and method resolution picks the most specific of three impls
//! (autoref specialization): `Json<T>` with `T: JsonSchema` (feature
//! `mcp`), no input, or anything else, which has no schema. So an action
//! compiles whatever its input, and only offering it as an MCP tool needs
//! the schema.

use std::marker::PhantomData;

use serde_json::{Map, Value};

use crate::pipeline::NoInput;

/// Makes an input's JSON Schema; `None` for an action without input.
pub type SchemaFn = fn() -> Option<Map<String, Value>>;

/// Stands for an action's input type `T` in the method lookup.
pub struct SchemaProbe<T>(PhantomData<fn() -> T>);

impl<T> SchemaProbe<T> {
    /// The probe.
    pub const NEW: Self = SchemaProbe(PhantomData);
}

/// `Json<T>` where `T: JsonSchema`: the schema of `T`. Implemented only
/// with the `mcp` feature.
pub trait HasJsonSchema {
    /// The schema maker.
    fn input_schema(&self) -> Option<SchemaFn>;
}

#[cfg(feature = "mcp")]
impl<T: schemars::JsonSchema> HasJsonSchema for &SchemaProbe<axum::Json<T>> {
    fn input_schema(&self) -> Option<SchemaFn> {
        Some(crate::mcp::schema_of::<T>)
    }
}

/// No input: a schema maker that says so.
pub trait HasNoInput {
    /// The schema maker.
    fn input_schema(&self) -> Option<SchemaFn>;
}

impl HasNoInput for &SchemaProbe<NoInput> {
    fn input_schema(&self) -> Option<SchemaFn> {
        Some(|| None)
    }
}

/// Any other input: no schema (found one autoderef later than the others).
pub trait LacksJsonSchema {
    /// `None`.
    fn input_schema(&self) -> Option<SchemaFn> {
        None
    }
}

impl<T> LacksJsonSchema for SchemaProbe<T> {}
