//! The borrowed inventory parsed on two threads (native builds with the `parallel` feature).
//!
//! A second thread finds where the text can be cut in two, at a place where an element of a
//! top-level list (or a top-level key) begins:
//! - first by **guessing**, without reading what comes before: from a target near the middle,
//!   the first object after a comma that reads as an ARM resource of one of the lists (an `id`
//!   naming a top-level resource of that list's type, and a `name`) and is followed by a comma
//!   or the list's end. It checks that its own part is UTF-8 and starts parsing at once;
//! - if nothing there reads so (an inventory without ids, say), by **scanning** the JSON's
//!   structure (no values built) from the start to a target past the middle, which finds the
//!   next such place for certain, and waits for this thread's UTF-8 check of the whole text.
//!
//! It then parses from there to the end: the rest of that list, element by element, then the
//! top-level keys after it. Meanwhile this thread parses from the start, one top-level key and
//! one list element at a time, and stops where the second thread began **only if it arrives
//! exactly there, in the same list**: then it has parsed the same bytes up to the cut that the
//! second thread parsed from it, so joining the two gives what one parse gives. If it does not
//! (a guess fell inside a string or a nested list, or the scan met text that is not JSON), it
//! parses the rest itself and the second thread's work is dropped.
//!
//! Both threads keep serde's rules: the same field types and null handling, a known key given
//! twice is an error, unknown keys are skipped (and checked as JSON), and nothing but
//! whitespace may follow the inventory.
use super::{list, nullable, Inventory, Release};
use serde::de::{Error as _, IgnoredAny};
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

type Result<T> = serde_json::Result<T>;

/// Where the cut is, once the second thread knows: not yet, none, or an offset.
const UNKNOWN: usize = 0;
const NONE: usize = usize::MAX;

/// The top-level keys (the derive's names), in the order of [`Inventory`]'s fields.
const KEYS: [&str; 15] = super::INVENTORY_KEYS;

/// The lists a cut may fall in (the borrowed ones, which hold nearly all of an inventory).
const LISTS: usize = 7;

/// What each thread has read: per key, whether it was given, and the values.
#[derive(Default)]
struct Parts<'a> {
    seen: [bool; KEYS.len()],
    inv: Inventory<'a>,
}

/// A position in the text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

fn syntax(what: &str, at: usize) -> serde_json::Error {
    serde_json::Error::custom(format!("{what} at byte {at}"))
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        let b = self.text.as_bytes();
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.text.as_bytes().get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(syntax(&format!("expected `{}`", c as char), self.pos))
        }
    }

    /// One JSON value from here, as `T`.
    fn value<T: Deserialize<'a>>(&mut self) -> Result<T> {
        self.ws();
        let mut it = serde_json::Deserializer::from_str(&self.text[self.pos..]).into_iter::<T>();
        let v = it
            .next()
            .unwrap_or_else(|| Err(syntax("expected a value", self.pos)))?;
        self.pos += it.byte_offset();
        Ok(v)
    }

    /// A key and its colon.
    fn key(&mut self) -> Result<Cow<'a, str>> {
        let k: Cow<'a, str> = self.value::<Key<'a>>()?.0;
        self.expect(b':')?;
        Ok(k)
    }
}

/// A JSON string, borrowed unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A list's element, read with the view's own rules.
struct Elem<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Elem<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        T::deserialize(d).map(Elem)
    }
}

/// A whole field's value, read as the derive reads it (`list` or `nullable`).
struct Listed<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Listed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        list(d).map(Listed)
    }
}

struct Nullable<T>(T);

impl<'de, T: Default + Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        nullable(d).map(Nullable)
    }
}

/// Whether to stop before a value or element that starts at `pos`, in top-level list `list`
/// (`None`: a top-level key); this thread stops when it arrives where the second thread began.
trait Stop {
    fn here(&mut self, pos: usize, list: Option<usize>) -> bool;
}

/// Says which bytes a thread has parsed, a few MB at a time, as it reaches each value or
/// element (see [`Release`]).
struct Behind<'s> {
    /// The address of the text the thread's positions count from.
    base: usize,
    /// Positions before this one were said to be parsed.
    told: usize,
    release: Release<'s>,
}

/// Bytes parsed before a release is said.
const BEHIND_STEP: usize = 2 << 20;

impl Behind<'_> {
    fn at(&mut self, pos: usize) {
        if pos >= self.told + BEHIND_STEP {
            (self.release)(self.base + self.told..self.base + pos);
            self.told = pos;
        }
    }
}

/// This thread stops where the second thread began, once that is known, if it gets there.
struct AtCut<'s> {
    cut: &'s AtomicUsize,
    /// The list the cut is in ([`NONE`]: a top-level key), published before the cut.
    cut_list: &'s AtomicUsize,
    /// The cut is never before this (the targets' lesser): no need to wait for it before.
    not_before: usize,
    /// Set when this thread has gone past the cut: the second thread can give up.
    missed: &'s AtomicBool,
    known: Option<(usize, usize)>,
    behind: Behind<'s>,
}

impl Stop for AtCut<'_> {
    fn here(&mut self, pos: usize, list: Option<usize>) -> bool {
        self.behind.at(pos);
        if pos < self.not_before {
            return false;
        }
        let (cut, cut_list) = match self.known {
            Some(c) => c,
            None => {
                let mut c = self.cut.load(Ordering::Acquire);
                while c == UNKNOWN {
                    std::thread::yield_now();
                    c = self.cut.load(Ordering::Acquire);
                }
                let known = (c, self.cut_list.load(Ordering::Relaxed));
                self.known = Some(known);
                known
            }
        };
        if cut == NONE {
            return false;
        }
        let here = pos == cut && list.unwrap_or(NONE) == cut_list;
        if pos >= cut && !here {
            self.missed.store(true, Ordering::Relaxed);
            self.known = Some((NONE, NONE));
        }
        here
    }
}

/// How a parse ended: at the end of the inventory, or stopped (where the other thread began,
/// or because the other thread no longer needs this one).
enum End {
    Done,
    Stopped,
}

/// Where a list or object is read from: just past its opening bracket (it may close at once),
/// at an item (after a comma: an item must follow), or after an item (a comma or the close).
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    Open,
    Item,
    Next,
}

/// The second thread stops when this one no longer needs it.
struct Abandoned<'s>(&'s AtomicBool, Behind<'s>);

impl Stop for Abandoned<'_> {
    fn here(&mut self, pos: usize, _: Option<usize>) -> bool {
        self.1.at(pos);
        self.0.load(Ordering::Relaxed)
    }
}

impl<'a> Parts<'a> {
    fn give(&mut self, k: usize, at: usize) -> Result<()> {
        if std::mem::replace(&mut self.seen[k], true) {
            return Err(syntax(&format!("duplicate field `{}`", KEYS[k]), at));
        }
        Ok(())
    }

    /// The value of top-level key `k` (not a list a cut may fall in).
    fn whole(&mut self, k: usize, c: &mut Cursor<'a>) -> Result<()> {
        let inv = &mut self.inv;
        match k {
            7 => inv.load_balancers = c.value::<Nullable<_>>()?.0,
            8 => inv.azure_firewalls = c.value::<Nullable<_>>()?.0,
            9 => inv.firewall_policy_rule_collection_groups = c.value::<Nullable<_>>()?.0,
            10 => inv.bastion_hosts = c.value::<Nullable<_>>()?.0,
            11 => inv.network_manager_effective_security_admin_rules = c.value::<Nullable<_>>()?.0,
            12 => inv.firewall_policies = c.value::<Nullable<_>>()?.0,
            13 => inv.ip_groups = c.value::<Nullable<_>>()?.0,
            14 => inv.application_gateways = c.value::<Nullable<_>>()?.0,
            _ => unreachable!("a list key"),
        }
        Ok(())
    }

    /// Elements of list `k` from `c` (just past `[` or a comma, or at the first element) to its
    /// `]`, unless `stop` says to stop before one.
    fn elements(
        &mut self,
        k: usize,
        c: &mut Cursor<'a>,
        at: At,
        stop: &mut impl Stop,
    ) -> Result<End> {
        let inv = &mut self.inv;
        match k {
            0 => elements(&mut inv.virtual_machines, k, c, at, stop),
            1 => elements(&mut inv.network_interfaces, k, c, at, stop),
            2 => elements(&mut inv.public_ip_addresses, k, c, at, stop),
            3 => elements(&mut inv.virtual_networks, k, c, at, stop),
            4 => elements(&mut inv.network_security_groups, k, c, at, stop),
            5 => elements(&mut inv.application_security_groups, k, c, at, stop),
            6 => elements(&mut inv.jit_network_access_policies, k, c, at, stop),
            _ => unreachable!("not a list key"),
        }
    }

    /// The value of top-level key `k`, a list read element by element when it is one.
    fn field(&mut self, k: usize, c: &mut Cursor<'a>, stop: &mut impl Stop) -> Result<End> {
        if k >= LISTS {
            self.whole(k, c)?;
            return Ok(End::Done);
        }
        match c.peek() {
            Some(b'[') => {
                c.pos += 1;
                self.elements(k, c, At::Open, stop)
            }
            // `null`, or a wrong type: as the derive reads it (an empty list, or its error)
            _ => {
                let inv = &mut self.inv;
                match k {
                    0 => inv.virtual_machines = c.value::<Listed<_>>()?.0,
                    1 => inv.network_interfaces = c.value::<Listed<_>>()?.0,
                    2 => inv.public_ip_addresses = c.value::<Listed<_>>()?.0,
                    3 => inv.virtual_networks = c.value::<Listed<_>>()?.0,
                    4 => inv.network_security_groups = c.value::<Listed<_>>()?.0,
                    5 => inv.application_security_groups = c.value::<Listed<_>>()?.0,
                    _ => inv.jit_network_access_policies = c.value::<Listed<_>>()?.0,
                }
                Ok(End::Done)
            }
        }
    }

    /// Top-level entries from `c` to the closing `}` and the end of the text.
    fn entries(&mut self, c: &mut Cursor<'a>, mut at: At, stop: &mut impl Stop) -> Result<End> {
        loop {
            match (at, c.peek()) {
                (At::Open | At::Next, Some(b'}')) => {
                    c.pos += 1;
                    return finish(c);
                }
                (At::Next, Some(b',')) => c.pos += 1,
                (At::Next, _) => return Err(syntax("expected `,` or `}`", c.pos)),
                _ => {}
            }
            at = At::Next;
            c.ws();
            if stop.here(c.pos, None) {
                return Ok(End::Stopped);
            }
            let start = c.pos;
            let key = c.key()?;
            match KEYS.iter().position(|k| *k == key) {
                Some(k) => {
                    self.give(k, start)?;
                    if let End::Stopped = self.field(k, c, stop)? {
                        return Ok(End::Stopped);
                    }
                }
                None => {
                    c.value::<IgnoredAny>()?;
                }
            }
        }
    }

    /// The second thread's part joined after this one's: a key in both is given twice.
    fn join(mut self, tail: Parts<'a>, split: Option<usize>) -> Result<Inventory<'a>> {
        let twice = (0..KEYS.len()).find(|&k| self.seen[k] && tail.seen[k] && Some(k) != split);
        if let Some(k) = twice {
            return Err(syntax(&format!("duplicate field `{}`", KEYS[k]), 0));
        }
        let (a, b) = (&mut self.inv, tail.inv);
        fn take<T>(head: &mut Vec<T>, tail: Vec<T>) {
            if head.is_empty() {
                *head = tail;
            } else if !tail.is_empty() {
                head.reserve_exact(tail.len());
                head.extend(tail);
            }
        }
        take(&mut a.virtual_machines, b.virtual_machines);
        take(&mut a.network_interfaces, b.network_interfaces);
        take(&mut a.public_ip_addresses, b.public_ip_addresses);
        take(&mut a.virtual_networks, b.virtual_networks);
        take(&mut a.network_security_groups, b.network_security_groups);
        take(
            &mut a.application_security_groups,
            b.application_security_groups,
        );
        take(
            &mut a.jit_network_access_policies,
            b.jit_network_access_policies,
        );
        let seen = |k: usize| tail.seen[k];
        if seen(7) {
            a.load_balancers = b.load_balancers;
        }
        if seen(8) {
            a.azure_firewalls = b.azure_firewalls;
        }
        if seen(9) {
            a.firewall_policy_rule_collection_groups = b.firewall_policy_rule_collection_groups;
        }
        if seen(10) {
            a.bastion_hosts = b.bastion_hosts;
        }
        if seen(11) {
            a.network_manager_effective_security_admin_rules =
                b.network_manager_effective_security_admin_rules;
        }
        if seen(12) {
            a.firewall_policies = b.firewall_policies;
        }
        if seen(13) {
            a.ip_groups = b.ip_groups;
        }
        if seen(14) {
            a.application_gateways = b.application_gateways;
        }
        Ok(self.inv)
    }
}

/// Elements into `out` up to the list's `]` (see [`Parts::elements`]); trimmed at the end, as
/// the view's `list` trims.
fn elements<'a, T: Deserialize<'a>>(
    out: &mut Vec<T>,
    list: usize,
    c: &mut Cursor<'a>,
    mut at: At,
    stop: &mut impl Stop,
) -> Result<End> {
    loop {
        match (at, c.peek()) {
            (At::Open | At::Next, Some(b']')) => {
                c.pos += 1;
                out.shrink_to_fit();
                return Ok(End::Done);
            }
            (At::Next, Some(b',')) => c.pos += 1,
            (At::Next, _) => return Err(syntax("expected `,` or `]`", c.pos)),
            _ => {}
        }
        at = At::Next;
        c.ws();
        if stop.here(c.pos, Some(list)) {
            out.shrink_to_fit();
            return Ok(End::Stopped);
        }
        out.push(c.value::<Elem<T>>()?.0);
    }
}

/// Nothing but whitespace after the inventory.
fn finish(c: &mut Cursor<'_>) -> Result<End> {
    c.ws();
    if c.pos == c.text.len() {
        Ok(End::Done)
    } else {
        Err(syntax("trailing characters", c.pos))
    }
}

/// Where the second thread may begin: the first place at or after `target` where an element
/// of one of the [`LISTS`] or a top-level key begins, found by following the text's structure
/// (strings, brackets, commas) from the start without building anything. With it, which list
/// (its key's index) the element is in, or `None` for a top-level key.
fn find_cut(b: &[u8], target: usize, missed: &AtomicBool) -> Option<(usize, Option<usize>)> {
    let mut i = 0;
    let mut depth = 0usize;
    // the top-level key whose value is being scanned, if it is one of the lists
    let mut list: Option<usize> = None;
    let mut expect_key = false;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i + 1;
                i = start;
                loop {
                    let at = memchr::memchr2(b'"', b'\\', &b[i..])? + i;
                    if b[at] == b'\\' {
                        i = at + 2;
                        continue;
                    }
                    i = at + 1;
                    break;
                }
                if depth == 1 && expect_key {
                    let key = &b[start..i - 1];
                    list = KEYS[..LISTS].iter().position(|k| k.as_bytes() == key);
                    expect_key = false;
                }
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth == 1 {
                    expect_key = true;
                }
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            b',' if depth <= 2 && missed.load(Ordering::Relaxed) => return None,
            b',' if depth <= 2 && i >= target => {
                let mut j = i + 1;
                while j < b.len() && matches!(b[j], b' ' | b'\n' | b'\r' | b'\t') {
                    j += 1;
                }
                match depth {
                    1 => return Some((j, None)),
                    _ if list.is_some() => return Some((j, list)),
                    _ => {}
                }
            }
            b',' if depth == 1 => expect_key = true,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where the second thread may begin when it guesses: the first object at or after `target`
/// that follows a comma, reads as an ARM resource of one of the [`LISTS`] (see [`list_of`])
/// and is followed by a comma or a `]`; with that list. A guess only: this thread takes the cut
/// only if it arrives there in that list. `None` when nothing within [`GUESS_SPAN`] bytes past
/// the target reads so.
fn guess_cut(b: &[u8], target: usize) -> Option<(usize, usize)> {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        id: Option<Cow<'a, str>>,
        name: Option<IgnoredAny>,
    }
    let end = b.len().min(target.saturating_add(GUESS_SPAN));
    let mut i = target;
    while i < end {
        let at = memchr::memchr(b'{', &b[i..end])? + i;
        i = at + 1;
        let before = b[..at]
            .iter()
            .rev()
            .find(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'));
        if before != Some(&b',') {
            continue;
        }
        let mut it = serde_json::Deserializer::from_slice(&b[at..]).into_iter::<Probe>();
        let Some(Ok(Probe {
            id: Some(id),
            name: Some(_),
        })) = it.next()
        else {
            continue;
        };
        let after = b[at + it.byte_offset()..]
            .iter()
            .find(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'));
        if !matches!(after, Some(b',' | b']')) {
            continue;
        }
        if let Some(k) = list_of(&id) {
            return Some((at, k));
        }
    }
    None
}

/// How far past its target the second thread looks for a guess.
const GUESS_SPAN: usize = 4 << 20;

/// The list ([`KEYS`]' index) whose resources have ids like `id`: a top-level resource of that
/// type (`.../providers/Microsoft.Network/networkInterfaces/NAME`, or for JIT policies
/// `.../providers/Microsoft.Security/locations/LOC/jitNetworkAccessPolicies/NAME`), compared
/// as ARM compares, ignoring case.
fn list_of(id: &str) -> Option<usize> {
    const TYPES: [(&str, &str); 6] = [
        ("Microsoft.Compute", "virtualMachines"),
        ("Microsoft.Network", "networkInterfaces"),
        ("Microsoft.Network", "publicIPAddresses"),
        ("Microsoft.Network", "virtualNetworks"),
        ("Microsoft.Network", "networkSecurityGroups"),
        ("Microsoft.Network", "applicationSecurityGroups"),
    ];
    let parts: Vec<&str> = id.split('/').collect();
    let p = parts
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match &parts[p + 1..] {
        [ns, ty, name] if !name.is_empty() => {
            TYPES.iter().position(|(n, t)| same(ns, n) && same(ty, t))
        }
        [ns, locations, loc, ty, name]
            if same(ns, "Microsoft.Security")
                && same(locations, "locations")
                && !loc.is_empty()
                && same(ty, "jitNetworkAccessPolicies")
                && !name.is_empty() =>
        {
            Some(6)
        }
        _ => None,
    }
}

/// Parses `text` on two threads, the second beginning at or after its target; see the module's
/// documentation.
pub(super) fn parse_with(text: &str, targets: Targets) -> Result<Inventory<'_>> {
    parse_traced_with(text, targets).0
}

/// [`parse_with`] with one target for both ways, and whether the second thread's part was
/// taken.
#[cfg(test)]
pub(super) fn parse_traced(text: &str, target: usize) -> (Result<Inventory<'_>>, bool) {
    parse_traced_with(text, Targets::both(target))
}

/// [`parse_with`], and whether the second thread's part was taken.
pub(super) fn parse_traced_with(text: &str, targets: Targets) -> (Result<Inventory<'_>>, bool) {
    match parse_checked(text.as_bytes(), || Some(text), targets, &|_| {}) {
        (Some(r), joined) => (r, joined),
        (None, _) => unreachable!("a str is UTF-8"),
    }
}

/// [`parse_with`] from bytes: this thread checks that they are UTF-8 while the second thread
/// guesses its cut and checks its own part, or scans for its cut (the scan reads bytes only),
/// so the check does not delay the second thread. `None` when they are not UTF-8 (nothing is
/// parsed then). Each thread tells `release` which bytes it has parsed as it goes.
pub(super) fn parse_bytes<'a>(
    bytes: &'a [u8],
    targets: Targets,
    release: Release<'_>,
) -> Option<Result<Inventory<'a>>> {
    parse_checked(bytes, || std::str::from_utf8(bytes).ok(), targets, release).0
}

/// Where the second thread starts looking for its cut: by guessing (no scan first: about the
/// middle), or by scanning (past the middle, since the scan takes time).
#[derive(Clone, Copy, Debug)]
pub(super) struct Targets {
    pub guess: usize,
    pub scan: usize,
}

impl Targets {
    /// The same target for both ways.
    #[cfg(test)]
    pub(super) fn both(target: usize) -> Self {
        Self {
            guess: target,
            scan: target,
        }
    }
}

/// The two threads; `check` gives the text of `bytes` (on this thread, while the second
/// guesses or scans), or `None` when they are not text.
fn parse_checked<'a>(
    bytes: &'a [u8],
    check: impl FnOnce() -> Option<&'a str>,
    targets: Targets,
    release: Release<'_>,
) -> (Option<Result<Inventory<'a>>>, bool) {
    let cut = AtomicUsize::new(UNKNOWN);
    let cut_list = AtomicUsize::new(NONE);
    let missed = AtomicBool::new(false);
    let (checked, text_rx) = std::sync::mpsc::sync_channel::<Option<&'a str>>(1);
    let (head, tail) = std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            // moved here: a receiver is not shared
            let text_rx = text_rx;
            // the cut is published whatever happens, so that this thread never waits forever
            struct Publish<'s>(&'s AtomicUsize);
            impl Drop for Publish<'_> {
                fn drop(&mut self) {
                    let _ =
                        self.0
                            .compare_exchange(UNKNOWN, NONE, Ordering::AcqRel, Ordering::Acquire);
                }
            }
            let _publish = Publish(&cut);
            // the part from the cut on, as text (a cut is always just after a comma,
            // whitespace, `{` or `[`: a char boundary)
            let (at, list, tail) = match guess_cut(bytes, targets.guess) {
                Some((at, k)) => {
                    // not text: the first thread finds out too, and parses nothing
                    let tail = std::str::from_utf8(&bytes[at..]).ok()?;
                    (at, Some(k), tail)
                }
                None => {
                    let (at, list) = find_cut(bytes, targets.scan, &missed)?;
                    // not text: the first thread parses nothing, and neither does this one
                    let text = text_rx.recv().ok().flatten()?;
                    (at, list, &text[at..])
                }
            };
            cut_list.store(list.unwrap_or(NONE), Ordering::Relaxed);
            cut.store(at.max(1), Ordering::Release);
            let mut parts = Parts::default();
            let mut c = Cursor { text: tail, pos: 0 };
            let behind = Behind {
                base: tail.as_ptr() as usize,
                told: 0,
                release,
            };
            let mut stop = Abandoned(&missed, behind);
            let done = match list {
                Some(k) => {
                    parts.seen[k] = true;
                    parts
                        .elements(k, &mut c, At::Item, &mut stop)
                        .and_then(|end| match end {
                            End::Done => parts.entries(&mut c, At::Next, &mut stop),
                            End::Stopped => Ok(End::Stopped),
                        })
                }
                None => parts.entries(&mut c, At::Item, &mut stop),
            };
            let done = match done {
                Ok(End::Done) => Ok(()),
                // abandoned: this thread parsed everything itself
                Ok(End::Stopped) => return None,
                Err(e) => Err(e),
            };
            Some((done.map(|_| parts), list))
        });
        let text = check();
        let _ = checked.send(text);
        let Some(text) = text else {
            missed.store(true, Ordering::Relaxed);
            let _ = second.join();
            return None;
        };
        let mut parts = Parts::default();
        let mut c = Cursor { text, pos: 0 };
        let mut stop = AtCut {
            cut: &cut,
            cut_list: &cut_list,
            not_before: targets.guess.min(targets.scan),
            missed: &missed,
            known: None,
            behind: Behind {
                base: text.as_ptr() as usize,
                told: 0,
                release,
            },
        };
        let head = c
            .expect(b'{')
            .and_then(|()| parts.entries(&mut c, At::Open, &mut stop))
            .map(|end| (end, parts, c.pos));
        if !matches!(head, Ok((End::Stopped, ..))) {
            missed.store(true, Ordering::Relaxed);
        }
        Some((head, second.join()))
    })
    .unzip();
    let (Some(head), Some(tail)) = (head, tail) else {
        return (None, false);
    };
    let (end, parts, _) = match head {
        Ok(h) => h,
        Err(e) => return (Some(Err(e)), false),
    };
    match end {
        End::Done => (Some(Ok(parts.inv)), false),
        End::Stopped => match tail {
            Ok(Some((tail, list))) => (Some(tail.and_then(|t| parts.join(t, list))), true),
            // cannot happen: this thread stops only where the second began, and then the
            // second does not give up
            _ => (
                Some(Err(syntax("the second thread's part is missing", 0))),
                false,
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{guess_cut, list_of, KEYS};

    #[test]
    fn ids_name_their_list() {
        let sub = "/subscriptions/0000/resourceGroups/rg/providers";
        let cases = [
            (format!("{sub}/Microsoft.Compute/virtualMachines/vm1"), Some(0)),
            (format!("{sub}/microsoft.network/NETWORKINTERFACES/nic"), Some(1)),
            (format!("{sub}/Microsoft.Network/publicIPAddresses/ip"), Some(2)),
            (format!("{sub}/Microsoft.Network/virtualNetworks/v"), Some(3)),
            (format!("{sub}/Microsoft.Network/networkSecurityGroups/n"), Some(4)),
            (format!("{sub}/Microsoft.Network/applicationSecurityGroups/a"), Some(5)),
            (
                format!("{sub}/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default"),
                Some(6),
            ),
            // child resources, references to other types, and what is not an id
            (format!("{sub}/Microsoft.Network/networkSecurityGroups/n/securityRules/r"), None),
            (format!("{sub}/Microsoft.Network/networkInterfaces/nic/ipConfigurations/c"), None),
            (format!("{sub}/Microsoft.Compute/disks/d"), None),
            (format!("{sub}/Microsoft.Network/networkInterfaces/"), None),
            (format!("{sub}/Microsoft.Security/jitNetworkAccessPolicies/default"), None),
            ("networkInterfaces".to_string(), None),
            (String::new(), None),
        ];
        for (id, want) in cases {
            assert_eq!(list_of(&id), want, "{id}");
        }
    }

    /// In a pretty inventory the guess is the start of a top-level element of the list it
    /// names, the first one at or after the target (nested lists of objects with ids, such as
    /// security rules, are passed over).
    #[test]
    fn the_guess_is_the_next_element_of_a_list() {
        let inv = crate::fleet::rich_fleet(60, 3);
        let text = serde_json::to_string_pretty(&inv).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut guessed = 0;
        for k in 1..20 {
            let target = text.len() * k / 20;
            let Some((at, list)) = guess_cut(text.as_bytes(), target) else {
                continue;
            };
            guessed += 1;
            assert!(at >= target);
            assert_eq!(&text[at..at + 1], "{");
            let elem: serde_json::Value = serde_json::Deserializer::from_str(&text[at..])
                .into_iter()
                .next()
                .unwrap()
                .unwrap();
            let listed = value[KEYS[list]].as_array().unwrap();
            assert!(
                listed.contains(&elem),
                "cut at {at}: not an element of {}",
                KEYS[list]
            );
        }
        assert!(guessed >= 15, "only {guessed} of 19 targets guessed");
    }
}
