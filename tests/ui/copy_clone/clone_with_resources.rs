// `Clone` on a type with resources would share or duplicate its handles: refused.
use guardian_core::{Factory, Rebuild};
use std::sync::Arc;

/// A factory whose resource happens to be `Clone`: cloning would share it.
struct Shared;
impl Factory for Shared {
    type Config = ();
    type Resource = Arc<String>;
    type Error = std::io::Error;
    fn open(&self, (): &()) -> std::io::Result<Arc<String>> {
        Ok(Arc::new(String::new()))
    }
}

#[derive(Rebuild, Clone)]
struct SameList {
    #[resource(factory = Shared)]
    handle: Arc<String>,
}

#[derive(Rebuild)]
#[derive(Clone)]
struct LaterAttribute {
    #[resource(factory = Shared)]
    handle: Arc<String>,
}

fn main() {}
