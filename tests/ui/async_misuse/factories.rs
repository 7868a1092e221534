// The factory must match the type's flavor: a blocking `Factory` on an async type is
// one error that names `AsyncFactory` and the adapter (`Blocking`); an `AsyncFactory`
// on a blocking type is one error that says to derive the async rebuild. Mismatched
// resources and recipes read as they do for blocking types.
use guardian_core::fs::{AbsolutePath, AppendFile};
use guardian_core::{AsyncFactory, Rebuild};
use std::fs::File;

struct Connect;
impl AsyncFactory for Connect {
    type Config = str;
    type Resource = String;
    type Error = std::io::Error;
    async fn open(&self, address: &str) -> std::io::Result<String> {
        Ok(address.to_owned())
    }
}

#[derive(Rebuild)]
#[rebuild(async)]
struct BlockingFactoryOnAsyncType {
    #[config]
    path: AbsolutePath,
    #[resource(factory = AppendFile, from = path)]
    log: File,
}

#[derive(Rebuild)]
struct AsyncFactoryOnBlockingType {
    #[config]
    address: String,
    #[resource(factory = Connect, from = address)]
    link: String,
}

#[derive(Rebuild)]
#[rebuild(async)]
struct WrongResource {
    #[config]
    address: String,
    #[resource(factory = Connect, from = address)]
    link: Vec<u8>,
}

#[derive(Rebuild)]
#[rebuild(async)]
struct WrongRecipe {
    #[config]
    port: u16,
    #[resource(factory = Connect, from = port)]
    link: String,
}

fn main() {}
