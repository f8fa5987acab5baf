//! The pages GitHub last sent, by URL, so that a conditional request answered 304 costs no
//! rate limit and still has its body. Bounded by bytes: the oldest page goes first, so an
//! organisation of many pages (or many organisations) cannot grow the daemon without end; a
//! page dropped is fetched whole once more.

use std::collections::{HashMap, VecDeque};

/// Bytes of page bodies kept: the pending requests and tokens of a large organisation (about
/// 30 KB a page of 100).
pub(super) const MAX_CACHED_BYTES: usize = 32 * 1024 * 1024;

/// A page as GitHub last sent it, to answer a 304.
#[derive(Clone)]
pub(super) struct CachedPage {
    pub etag: String,
    pub body: Vec<u8>,
    pub next: Option<String>,
}

pub(super) struct PageCache {
    pages: HashMap<String, CachedPage>,
    /// URLs, oldest first.
    order: VecDeque<String>,
    bytes: usize,
    limit: usize,
}

impl PageCache {
    pub fn new(limit: usize) -> PageCache {
        PageCache {
            pages: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    pub fn get(&self, url: &str) -> Option<CachedPage> {
        self.pages.get(url).cloned()
    }

    pub fn insert(&mut self, url: String, page: CachedPage) {
        self.remove(&url);
        if page.body.len() > self.limit {
            return;
        }
        while self.bytes + page.body.len() > self.limit {
            let Some(oldest) = self.order.front().cloned() else {
                break;
            };
            self.remove(&oldest);
        }
        self.bytes += page.body.len();
        self.order.push_back(url.clone());
        self.pages.insert(url, page);
    }

    fn remove(&mut self, url: &str) {
        if let Some(old) = self.pages.remove(url) {
            self.bytes -= old.body.len();
            self.order.retain(|kept| kept != url);
        }
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: usize) -> CachedPage {
        CachedPage {
            etag: "\"e\"".to_string(),
            body: vec![b'x'; bytes],
            next: None,
        }
    }

    #[test]
    fn the_oldest_pages_go_first_and_the_bytes_stay_under_the_limit() {
        let mut cache = PageCache::new(100);
        for n in 0..10 {
            cache.insert(format!("u{n}"), page(30));
            assert!(cache.bytes() <= 100);
        }
        assert!(cache.get("u9").is_some() && cache.get("u7").is_some());
        assert!(cache.get("u6").is_none() && cache.get("u0").is_none());
        // The same URL again replaces its page, and counts once.
        cache.insert("u9".to_string(), page(10));
        assert_eq!(cache.bytes(), 70);
        // A page larger than the whole cache is not kept.
        cache.insert("huge".to_string(), page(101));
        assert!(cache.get("huge").is_none());
    }
}
