// An async type is `Serialize` through its blueprint, but serde cannot await its
// opens: loading it directly is one error that says how to load it in two steps.
use guardian_core::{AsyncFactory, Rebuild};

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
#[rebuild(async, serde)]
struct Client {
    #[config]
    address: String,
    #[resource(factory = Connect, from = address)]
    link: String,
}

fn load<'de, T: serde::Deserialize<'de>>(text: &'de str) -> T {
    let _ = text;
    todo!()
}

fn main() {
    let _client: Client = load(r#"{"address": "db"}"#);
}
