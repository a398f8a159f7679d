//! A trait that compiles under `#[async_trait]` compiles under `#[value_task]` with the
//! attribute swapped and nothing else changed: the same trait and impl, side by side.

use crate::common;

use common::drive;

/// The same source text twice; only the attribute differs.
macro_rules! storage_backend {
    ($attr:meta) => {
        #[$attr]
        pub trait Storage: Send + Sync {
            async fn get(&self, key: &str) -> Option<Vec<u8>>;
            async fn put(&mut self, key: String, value: Vec<u8>) -> bool;
            async fn get_or_default(&self, key: &str) -> Vec<u8> {
                self.get(key).await.unwrap_or_default()
            }
            async fn batch<'a>(&'a self, keys: &'a [&'a str]) -> Vec<Option<Vec<u8>>> {
                let mut out = Vec::new();
                for key in keys {
                    out.push(self.get(key).await);
                }
                out
            }
            async fn generic<T: std::fmt::Debug + Send + Sync>(&self, value: T) -> String
            where
                Self: Sized,
            {
                format!("{value:?}")
            }
        }

        pub struct Memory(pub std::collections::HashMap<String, Vec<u8>>);

        #[$attr]
        impl Storage for Memory {
            async fn get(&self, key: &str) -> Option<Vec<u8>> {
                self.0.get(key).cloned()
            }
            async fn put(&mut self, key: String, value: Vec<u8>) -> bool {
                self.0.insert(key, value).is_none()
            }
        }
    };
}

mod with_async_trait {
    storage_backend!(async_trait::async_trait);
}

mod with_value_task {
    storage_backend!(valuetask::value_task);
}

#[test]
fn both_expansions_behave_alike_through_dyn() {
    let mut a: Box<dyn with_async_trait::Storage> =
        Box::new(with_async_trait::Memory(Default::default()));
    let mut v: Box<dyn with_value_task::Storage> =
        Box::new(with_value_task::Memory(Default::default()));
    assert!(drive(a.put("k".into(), vec![1])));
    assert!(drive(v.put("k".into(), vec![1])));
    assert_eq!(drive(a.get_or_default("k")), drive(v.get_or_default("k")));
    assert_eq!(drive(a.get_or_default("x")), drive(v.get_or_default("x")));
    let keys = ["k", "x"];
    assert_eq!(drive(a.batch(&keys)), drive(v.batch(&keys)));
    use with_async_trait::Storage as _;
    use with_value_task::Storage as _;
    assert_eq!(
        drive(with_async_trait::Memory(Default::default()).generic(1)),
        drive(with_value_task::Memory(Default::default()).generic(1))
    );
}
