//! The key-value store behind pylm's cache service, and the service's request handler.
//!
//! [`Cache`] is an in-process map from keys to byte values that the server reads and writes
//! directly (its presets: `name`, `db_address`, the worker addresses) and that workers and
//! clients reach through the cache service. It can be bounded by entry count and by bytes;
//! beyond the bound the least recently used entries are evicted, each operation in O(1): a
//! `HashMap` from key to a `Slab` slot, the slots linked in recency order. Presets are pinned:
//! never evicted and not counted against the bound.
//!
//! [`Cache::handle_request`] is the sans-IO cache service: a REP request body in, a reply body
//! out, exactly as pylm 0.14's `CacheService` answers (`_.set`, `_.get`, `_.delete`). The REP
//! socket, the envelope and logging of failed requests are left to the service that owns the
//! socket.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use slab::Slab;

use super::message::{DecodeError, PalmMessage, Uuid4Generator};

/// Bytes charged per entry on top of its key and value, approximating the map slot, the slab
/// slot and the buffers' headers, so that a byte bound also bounds memory when entries are tiny.
// TODO: measure the real per-entry overhead (map, slab, two Bytes headers, allocator slack);
// 64 is an estimate, so max_bytes bounds memory only to within that error.
pub const ENTRY_OVERHEAD: usize = 64;

/// No neighbour in the recency list.
const NIL: usize = usize::MAX;

/// Optional bounds on a [`Cache`]. `None` means unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheLimits {
    /// Most entries kept (presets not counted).
    pub max_entries: Option<usize>,
    /// Most bytes kept: key plus value plus [`ENTRY_OVERHEAD`] per entry (presets not counted).
    pub max_bytes: Option<usize>,
}

/// Why a cache request got no meaningful answer. The service answers every one of them with an
/// empty reply, as pylm does where it answers at all, and logs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The request is not a PalmMessage.
    Decode(DecodeError),
    /// `function` has no `.`, so there is no verb (pylm's service thread dies on this).
    MissingVerb,
    /// The verb after the first `.` is not `set`, `get` or `delete`.
    UnknownVerb,
    /// A `get` or `delete` key (the payload) is not UTF-8; pylm's keys are strings (its service
    /// thread dies on this).
    KeyNotUtf8,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Decode(e) => write!(f, "cache request is not a palm message: {e}"),
            RequestError::MissingVerb => f.write_str("cache request function has no verb"),
            RequestError::UnknownVerb => f.write_str("cache request verb is unknown"),
            RequestError::KeyNotUtf8 => f.write_str("cache request key is not valid utf-8"),
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DecodeError> for RequestError {
    fn from(e: DecodeError) -> RequestError {
        RequestError::Decode(e)
    }
}

struct Entry {
    key: Bytes,
    value: Bytes,
    /// Pinned entries (presets) are outside the recency list and the accounting.
    pinned: bool,
    /// More recently used neighbour, or `NIL`.
    prev: usize,
    /// Less recently used neighbour, or `NIL`.
    next: usize,
}

impl Entry {
    fn cost(&self) -> usize {
        cost(&self.key, &self.value)
    }
}

fn cost(key: &[u8], value: &[u8]) -> usize {
    key.len()
        .saturating_add(value.len())
        .saturating_add(ENTRY_OVERHEAD)
}

/// An in-process key-value store with optional bounds and least-recently-used eviction.
///
/// Values are [`Bytes`]: [`get`](Cache::get) hands out a reference-counted handle, no copy.
/// Values are kept as given, so a caller passing a slice of a large buffer keeps all of that
/// buffer alive; [`handle_request`](Cache::handle_request) copies what peers send for that
/// reason.
///
/// ```
/// use bytes::Bytes;
/// use palm::palm::cache::{Cache, CacheLimits};
///
/// let mut cache = Cache::with_limits(CacheLimits { max_entries: Some(2), max_bytes: None });
/// cache.preset("worker_push_address", "tcp://127.0.0.1:5558");
/// cache.set("a", "1");
/// cache.set("b", "2");
/// cache.get(b"a"); // a is now more recent than b
/// cache.set("c", "3"); // evicts b
/// assert_eq!(cache.get(b"b"), None);
/// assert_eq!(cache.get(b"a"), Some(Bytes::from_static(b"1")));
/// // Presets are never evicted.
/// assert_eq!(cache.get(b"worker_push_address"), Some(Bytes::from("tcp://127.0.0.1:5558")));
/// ```
pub struct Cache {
    index: HashMap<Bytes, usize>,
    entries: Slab<Entry>,
    /// Most recently used unpinned entry.
    head: usize,
    /// Least recently used unpinned entry: the next to go.
    tail: usize,
    /// Unpinned entries and their cost.
    counted_entries: usize,
    counted_bytes: usize,
    limits: CacheLimits,
    ids: Uuid4Generator,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache::new()
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.entries.len())
            .field("counted_entries", &self.counted_entries)
            .field("counted_bytes", &self.counted_bytes)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Cache {
    /// An unbounded cache, like pylm's `DictDB`.
    pub fn new() -> Cache {
        Cache::with_limits(CacheLimits::default())
    }

    /// A cache that evicts least recently used entries to stay within `limits`.
    pub fn with_limits(limits: CacheLimits) -> Cache {
        Cache {
            index: HashMap::new(),
            entries: Slab::new(),
            head: NIL,
            tail: NIL,
            counted_entries: 0,
            counted_bytes: 0,
            limits,
            ids: Uuid4Generator::new(),
        }
    }

    /// Replaces the generator of the keys that `set` requests without a key get (for tests).
    pub fn set_id_generator(&mut self, ids: Uuid4Generator) {
        self.ids = ids;
    }

    /// The bounds this cache keeps.
    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// All entries, presets included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries counted against `max_entries` (all but presets).
    pub fn counted_entries(&self) -> usize {
        self.counted_entries
    }

    /// Bytes counted against `max_bytes` (all but presets).
    pub fn counted_bytes(&self) -> usize {
        self.counted_bytes
    }

    /// True when `key` is present; does not count as a use.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.index.contains_key(key)
    }

    /// The value of `key`, marking it most recently used. No allocation, no copy.
    // TODO: assert "get allocates nothing" in the crate's counting-allocator test when it
    // lands; today it rests on promote() at set time and a borrowed-key lookup.
    pub fn get(&mut self, key: &[u8]) -> Option<Bytes> {
        let slot = *self.index.get(key)?;
        self.touch(slot);
        self.entries.get(slot).map(|e| e.value.clone())
    }

    /// The value of `key` without marking it used.
    pub fn peek(&self, key: &[u8]) -> Option<&Bytes> {
        let slot = *self.index.get(key)?;
        self.entries.get(slot).map(|e| &e.value)
    }

    /// Stores `value` under `key` as the most recently used entry, evicting least recently used
    /// ones as needed. Overwriting a preset unpins it. Returns false, leaving `key` absent, when
    /// the entry alone exceeds the bounds.
    pub fn set(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> bool {
        let (key, value) = (key.into(), promote(value.into()));
        let cost = cost(&key, &value);
        if !self.fits(cost) {
            self.delete(&key);
            return false;
        }
        let existing = self.index.get(&key[..]).copied();
        if let Some(slot) = existing {
            self.uncount(slot);
        }
        self.make_room(cost, 1);
        let slot = match existing {
            Some(slot) => {
                self.replace_value(slot, value);
                slot
            }
            None => self.insert(key, value),
        };
        self.count(slot);
        true
    }

    /// Stores a value the server itself provides (pylm's `preset_cache`): pinned, so never
    /// evicted and not counted against the bounds, until a `set` overwrites or a `delete`
    /// removes it.
    pub fn preset(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) {
        let (key, value) = (key.into(), promote(value.into()));
        match self.index.get(&key[..]) {
            Some(&slot) => {
                self.uncount(slot);
                self.replace_value(slot, value);
            }
            None => {
                self.insert(key, value);
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn delete(&mut self, key: &[u8]) -> Option<Bytes> {
        let slot = self.index.remove(key)?;
        self.uncount(slot);
        self.entries.try_remove(slot).map(|e| e.value)
    }

    /// Serves one cache-service request as pylm 0.14's `CacheService` does. The request is a
    /// serialized PalmMessage whose `function` is `anything.verb[.anything]` (the verb is the
    /// second `.`-separated word, as pylm's `function.split('.')[1]`):
    ///
    /// - `set`: key = the `cache` field, or a new uuid4 when it is empty; value = the payload;
    ///   the reply is the key. Key and value are copied out of the request.
    /// - `get`: key = the payload; the reply is the value, or empty when the key is absent.
    /// - `delete`: key = the payload; the reply is the key, present or not.
    ///
    /// Anything else is an error, which the service answers with an empty reply. pylm answers
    /// an unknown verb with an empty reply too, but its service dies on the other errors and
    /// on deleting an absent key (its clients then wait forever).
    pub fn handle_request(&mut self, request: Bytes) -> Result<Bytes, RequestError> {
        let msg = PalmMessage::decode(request)?;
        let verb = msg
            .function
            .as_str()
            .split('.')
            .nth(1)
            .ok_or(RequestError::MissingVerb)?;
        match verb {
            "set" => Ok(self.handle_set(&msg)),
            "get" => {
                let key = utf8_key(&msg.payload)?;
                Ok(self.get(key).unwrap_or_default())
            }
            "delete" => {
                utf8_key(&msg.payload)?;
                self.delete(&msg.payload);
                Ok(msg.payload)
            }
            _ => Err(RequestError::UnknownVerb),
        }
    }

    fn handle_set(&mut self, msg: &PalmMessage) -> Bytes {
        let key = if msg.cache.is_empty() {
            self.ids.next_string().into_bytes()
        } else {
            Bytes::copy_from_slice(msg.cache.as_bytes())
        };
        // A value too large for the bounds is not stored; pylm, unbounded, still answers the
        // key, and so does palm: a later get finds nothing, as after an eviction.
        self.set(key.clone(), Bytes::copy_from_slice(&msg.payload));
        key
    }

    /// True when an entry costing `cost` can be stored at all.
    fn fits(&self, cost: usize) -> bool {
        let CacheLimits {
            max_entries,
            max_bytes,
        } = self.limits;
        max_entries.is_none_or(|max| max >= 1) && max_bytes.is_none_or(|max| cost <= max)
    }

    /// Evicts least recently used entries until `entries` more entries costing `bytes` fit.
    fn make_room(&mut self, bytes: usize, entries: usize) {
        while self.over_limits(bytes, entries) && self.tail != NIL {
            self.evict(self.tail);
        }
    }

    fn over_limits(&self, bytes: usize, entries: usize) -> bool {
        let CacheLimits {
            max_entries,
            max_bytes,
        } = self.limits;
        max_entries.is_some_and(|max| self.counted_entries.saturating_add(entries) > max)
            || max_bytes.is_some_and(|max| self.counted_bytes.saturating_add(bytes) > max)
    }

    fn evict(&mut self, slot: usize) {
        self.uncount(slot);
        if let Some(entry) = self.entries.try_remove(slot) {
            self.index.remove(&entry.key);
        }
    }

    /// Adds a pinned entry: outside the recency list and the accounting.
    fn insert(&mut self, key: Bytes, value: Bytes) -> usize {
        let entry = Entry {
            key: key.clone(),
            value,
            pinned: true,
            prev: NIL,
            next: NIL,
        };
        let slot = self.entries.insert(entry);
        self.index.insert(key, slot);
        slot
    }

    /// Replaces the value of an entry that is out of the accounting (pinned).
    fn replace_value(&mut self, slot: usize, value: Bytes) {
        if let Some(entry) = self.entries.get_mut(slot) {
            entry.value = value;
        }
    }

    /// Unpins `slot`, puts it at the head of the recency list and adds its cost.
    fn count(&mut self, slot: usize) {
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        entry.pinned = false;
        let cost = entry.cost();
        self.counted_entries += 1;
        self.counted_bytes = self.counted_bytes.saturating_add(cost);
        self.push_front(slot);
    }

    /// Pins `slot`, taking it out of the recency list and the accounting (no-op when pinned).
    fn uncount(&mut self, slot: usize) {
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        if entry.pinned {
            return;
        }
        entry.pinned = true;
        let cost = entry.cost();
        self.counted_entries = self.counted_entries.saturating_sub(1);
        self.counted_bytes = self.counted_bytes.saturating_sub(cost);
        self.unlink(slot);
    }

    /// Marks an unpinned entry most recently used.
    fn touch(&mut self, slot: usize) {
        if self.head != slot && self.entries.get(slot).is_some_and(|e| !e.pinned) {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    fn unlink(&mut self, slot: usize) {
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        let (prev, next) = (entry.prev, entry.next);
        entry.prev = NIL;
        entry.next = NIL;
        match self.entries.get_mut(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.entries.get_mut(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
    }

    fn push_front(&mut self, slot: usize) {
        let old_head = self.head;
        if let Some(entry) = self.entries.get_mut(slot) {
            entry.prev = NIL;
            entry.next = old_head;
        }
        match self.entries.get_mut(old_head) {
            Some(h) => h.prev = slot,
            None => self.tail = slot,
        }
        self.head = slot;
    }

    /// Checks the internal invariants (for tests and fuzzing): the index, the slab, the recency
    /// list and the counters agree, and the bounds hold.
    #[doc(hidden)]
    pub fn assert_consistent(&self) {
        assert_eq!(self.index.len(), self.entries.len());
        for (key, &slot) in &self.index {
            assert_eq!(self.entries.get(slot).map(|e| &e.key), Some(key));
        }
        let (mut count, mut bytes, mut prev, mut slot) = (0, 0, NIL, self.head);
        while let Some(entry) = self.entries.get(slot) {
            assert!(!entry.pinned);
            assert_eq!(entry.prev, prev);
            count += 1;
            bytes += entry.cost();
            (prev, slot) = (slot, entry.next);
        }
        assert_eq!(self.tail, prev);
        assert_eq!(count, self.counted_entries);
        assert_eq!(
            count,
            self.entries.iter().filter(|(_, e)| !e.pinned).count()
        );
        assert_eq!(bytes, self.counted_bytes);
        assert!(!self.over_limits(0, 0), "bounds exceeded: {self:?}");
    }
}

fn utf8_key(key: &Bytes) -> Result<&[u8], RequestError> {
    std::str::from_utf8(key).map_err(|_| RequestError::KeyNotUtf8)?;
    Ok(key)
}

/// A `Bytes` made from a `Vec` allocates a shared header on its first clone; take that hit on
/// `set` so that `get`, which clones, never allocates.
fn promote(value: Bytes) -> Bytes {
    value.clone()
}

/// Fuzzing entry point: feeds requests cut from `data` to a small bounded cache and checks the
/// bounds and the invariants after each. The first byte of each chunk chooses between a raw
/// request and one built from the chunk (so the fuzzer reaches every verb quickly).
#[doc(hidden)]
pub fn fuzz_requests(data: &[u8]) {
    // One chunk carries at most 254 bytes, so some entries fit the byte bound only alone and
    // some not at all.
    let limits = CacheLimits {
        max_entries: Some(8),
        max_bytes: Some(300),
    };
    let mut cache = Cache::with_limits(limits);
    cache.set_id_generator(Uuid4Generator::from_seed(1));
    cache.preset(Bytes::from_static(b"name"), Bytes::from_static(b"fuzz"));
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (chunk, next) = tail.split_at(usize::from(len).min(tail.len()));
        rest = next;
        let request = fuzz_request(chunk);
        let reply = cache.handle_request(request.clone());
        check_reply(&mut cache, &request, reply);
        cache.assert_consistent();
    }
}

/// A request: the chunk as is when its first byte is even, else a message built from it.
fn fuzz_request(chunk: &[u8]) -> Bytes {
    let Some((&mode, body)) = chunk.split_first() else {
        return Bytes::new();
    };
    if mode % 2 == 0 {
        return Bytes::copy_from_slice(body);
    }
    let verbs = ["_.set", "_.get", "_.delete", "_.other", "set", "x.set.y"];
    let function = verbs
        .get(usize::from(mode / 2) % verbs.len())
        .copied()
        .unwrap_or_default();
    let (key, payload) = body.split_at(body.len() / 2);
    let key = String::from_utf8_lossy(key).into_owned();
    let msg = PalmMessage {
        function: function.into(),
        cache: key.into(),
        payload: Bytes::copy_from_slice(payload),
        ..PalmMessage::default()
    };
    msg.to_bytes()
}

/// Checks what a reply must be, given the request.
fn check_reply(cache: &mut Cache, request: &Bytes, reply: Result<Bytes, RequestError>) {
    let (Ok(msg), Ok(reply)) = (PalmMessage::decode(request.clone()), reply) else {
        return;
    };
    match msg.function.as_str().split('.').nth(1) {
        Some("set") if !msg.cache.is_empty() => assert_eq!(reply, msg.cache.as_bytes()),
        Some("set") => assert_eq!(reply.len(), 36),
        Some("delete") => {
            assert_eq!(reply, msg.payload);
            assert!(!cache.contains_key(&msg.payload));
        }
        _ => {}
    }
    if let Some("set") = msg.function.as_str().split('.').nth(1) {
        // A value that fits is readable right after its set.
        if cache.fits(cost(&reply, &msg.payload)) {
            assert_eq!(cache.get(&reply), Some(msg.payload));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    fn request(function: &'static str, cache: &'static str, payload: &'static str) -> Bytes {
        let msg = PalmMessage {
            pipeline: "p".into(),
            client: "c".into(),
            function: function.into(),
            cache: cache.into(),
            payload: b(payload),
            ..PalmMessage::default()
        };
        msg.to_bytes()
    }

    fn entries(n: usize) -> CacheLimits {
        CacheLimits {
            max_entries: Some(n),
            max_bytes: None,
        }
    }

    #[test]
    fn set_with_key_replies_the_key_and_get_finds_the_value() {
        let mut cache = Cache::new();
        let reply = cache
            .handle_request(request("_.set", "k", "value"))
            .unwrap();
        assert_eq!(reply, b("k"));
        let reply = cache.handle_request(request("_.get", "", "k")).unwrap();
        assert_eq!(reply, b("value"));
        cache.assert_consistent();
    }

    #[test]
    fn set_without_key_generates_a_uuid4() {
        let mut cache = Cache::new();
        let key = cache.handle_request(request("_.set", "", "v")).unwrap();
        let text = std::str::from_utf8(&key).unwrap();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4");
        assert_eq!(cache.get(&key), Some(b("v")));
        let other = cache.handle_request(request("_.set", "", "v")).unwrap();
        assert_ne!(key, other);
    }

    #[test]
    fn get_of_a_missing_key_is_empty() {
        let mut cache = Cache::new();
        assert_eq!(
            cache.handle_request(request("_.get", "", "nope")),
            Ok(Bytes::new())
        );
    }

    #[test]
    fn delete_replies_the_key_present_or_not() {
        let mut cache = Cache::new();
        cache.set(b("k"), b("v"));
        assert_eq!(
            cache.handle_request(request("_.delete", "", "k")),
            Ok(b("k"))
        );
        assert!(!cache.contains_key(b"k"));
        assert_eq!(
            cache.handle_request(request("_.delete", "", "k")),
            Ok(b("k"))
        );
        cache.assert_consistent();
    }

    #[test]
    fn verb_is_the_second_dot_separated_word() {
        let mut cache = Cache::new();
        assert_eq!(
            cache.handle_request(request("server.set.x", "k", "1")),
            Ok(b("k"))
        );
        assert_eq!(cache.handle_request(request(".get", "", "k")), Ok(b("1")));
        assert_eq!(
            cache.handle_request(request("get", "", "k")),
            Err(RequestError::MissingVerb)
        );
        let unknown = Err(RequestError::UnknownVerb);
        assert_eq!(cache.handle_request(request("_..get", "", "k")), unknown);
        assert_eq!(cache.handle_request(request("_.GET", "", "k")), unknown);
        assert_eq!(cache.handle_request(request("_.clean", "", "k")), unknown);
    }

    #[test]
    fn malformed_requests_are_errors() {
        let mut cache = Cache::new();
        let err = cache
            .handle_request(Bytes::from_static(b"\x0a\x05ab"))
            .unwrap_err();
        assert!(matches!(
            err,
            RequestError::Decode(DecodeError::LengthOutOfBounds { .. })
        ));
        assert!(
            err.to_string()
                .starts_with("cache request is not a palm message: ")
        );
        let bad_key = PalmMessage {
            function: "_.get".into(),
            payload: Bytes::from_static(b"\xff"),
            ..PalmMessage::default()
        };
        assert_eq!(
            cache.handle_request(bad_key.to_bytes()),
            Err(RequestError::KeyNotUtf8)
        );
    }

    #[test]
    fn set_copies_out_of_the_request() {
        let mut cache = Cache::new();
        let req = request("_.set", "k", "value");
        cache.handle_request(req.clone()).unwrap();
        let value = cache.get(b"k").unwrap();
        assert!(!req.as_ptr_range().contains(&value.as_ptr()));
    }

    #[test]
    fn lru_evicts_least_recently_used_first() {
        let mut cache = Cache::with_limits(entries(3));
        for key in ["a", "b", "c"] {
            assert!(cache.set(b(key), b("v")));
        }
        cache.get(b"a"); // order now: a, c, b
        cache.set(b("d"), b("v")); // evicts b
        assert!(!cache.contains_key(b"b"));
        cache.set(b("c"), b("v2")); // overwrite touches c: c, d, a
        cache.set(b("e"), b("v")); // evicts a
        assert!(!cache.contains_key(b"a"));
        assert_eq!(cache.peek(b"c"), Some(&b("v2")));
        cache.set(b("f"), b("v")); // evicts d
        assert!(!cache.contains_key(b"d"));
        assert_eq!(cache.counted_entries(), 3);
        cache.assert_consistent();
    }

    #[test]
    fn peek_does_not_touch() {
        let mut cache = Cache::with_limits(entries(2));
        cache.set(b("a"), b("1"));
        cache.set(b("b"), b("2"));
        cache.peek(b"a");
        cache.set(b("c"), b("3"));
        assert!(!cache.contains_key(b"a"));
    }

    #[test]
    fn byte_bound_is_respected() {
        let max = 3 * (ENTRY_OVERHEAD + 10);
        let mut cache = Cache::with_limits(CacheLimits {
            max_entries: None,
            max_bytes: Some(max),
        });
        for i in 0..100u8 {
            let key = Bytes::from(vec![b'k', i]);
            assert!(cache.set(key, Bytes::from(vec![i; usize::from(i % 9)])));
            assert!(cache.counted_bytes() <= max);
            cache.assert_consistent();
        }
        // A larger value pushes out as many entries as it needs.
        assert!(cache.set(b("big"), Bytes::from(vec![0; 2 * ENTRY_OVERHEAD])));
        assert_eq!(cache.counted_entries(), 1);
        cache.assert_consistent();
    }

    #[test]
    fn an_entry_larger_than_the_bound_is_not_stored() {
        let limits = CacheLimits {
            max_entries: None,
            max_bytes: Some(ENTRY_OVERHEAD + 4),
        };
        let mut cache = Cache::with_limits(limits);
        assert!(cache.set(b("k"), b("abc")));
        assert!(!cache.set(b("k"), b("abcd")));
        assert!(!cache.contains_key(b"k"), "the old value must not survive");
        assert_eq!(
            cache.handle_request(request("_.set", "k", "toolong")),
            Ok(b("k"))
        );
        assert_eq!(
            cache.handle_request(request("_.get", "", "k")),
            Ok(Bytes::new())
        );
        let mut none = Cache::with_limits(entries(0));
        assert!(!none.set(b("k"), b("v")));
        none.assert_consistent();
    }

    #[test]
    fn presets_are_pinned_until_overwritten() {
        let mut cache = Cache::with_limits(entries(1));
        cache.preset(b("worker_push_address"), b("tcp://127.0.0.1:5558"));
        cache.set(b("a"), b("1"));
        cache.set(b("b"), b("2"));
        assert_eq!(
            cache.get(b"worker_push_address"),
            Some(b("tcp://127.0.0.1:5558"))
        );
        assert_eq!(cache.counted_entries(), 1);
        assert_eq!(cache.len(), 2);
        // A peer's set turns it into ordinary data, subject to eviction.
        cache.set(b("worker_push_address"), b("x"));
        assert!(!cache.contains_key(b"b"));
        cache.set(b("c"), b("3"));
        assert!(!cache.contains_key(b"worker_push_address"));
        // A preset over an ordinary entry pins it.
        cache.preset(b("c"), b("pinned"));
        assert_eq!(cache.counted_entries(), 0);
        cache.assert_consistent();
        assert_eq!(cache.delete(b"c"), Some(b("pinned")));
        assert!(cache.is_empty());
        cache.assert_consistent();
    }

    #[test]
    fn slots_are_reused_after_eviction() {
        let mut cache = Cache::with_limits(entries(4));
        for i in 0..1000u32 {
            cache.set(Bytes::from(i.to_string()), b("v"));
        }
        assert_eq!(cache.len(), 4);
        assert!(cache.entries.capacity() <= 4);
        cache.assert_consistent();
    }

    #[test]
    fn fuzz_corpus_passes() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/cache_request");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            fuzz_requests(&std::fs::read(entry.unwrap().path()).unwrap());
            seen += 1;
        }
        assert!(seen >= 5);
    }

    #[test]
    fn fuzz_entry_point_accepts_anything() {
        fuzz_requests(b"");
        fuzz_requests(b"\x05\x01abcd\x04\x03k\x00\x03\x05\x00k");
        let mut data = Vec::new();
        for i in 0..200u8 {
            data.push(20);
            data.push(i.wrapping_mul(7));
            data.extend(std::iter::repeat_n(i, 19));
        }
        fuzz_requests(&data);
        let set = request("_.set", "k", "v");
        let mut raw = vec![u8::try_from(set.len() + 1).unwrap(), 0];
        raw.extend_from_slice(&set);
        fuzz_requests(&raw);
    }
}
