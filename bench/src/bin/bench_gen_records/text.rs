//! Text for the generated records: a small deterministic generator (xorshift64*) and the word
//! list its sentences are made of.

/// The vocabulary of the generated sentences.
pub const WORDS: &[&str] = &[
    "the",
    "order",
    "account",
    "refund",
    "shipping",
    "invoice",
    "please",
    "could",
    "you",
    "help",
    "with",
    "my",
    "password",
    "reset",
    "error",
    "when",
    "I",
    "try",
    "to",
    "log",
    "in",
    "thanks",
    "function",
    "returns",
    "null",
    "instead",
    "of",
    "a",
    "list",
    "how",
    "do",
    "parse",
    "this",
    "JSON",
    "file",
    "in",
    "Rust",
    "Python",
    "query",
    "database",
    "timeout",
    "after",
    "seconds",
    "summary",
    "meeting",
    "notes",
    "quarter",
    "revenue",
    "growth",
    "customer",
    "feedback",
    "product",
    "launch",
    "delayed",
    "because",
    "supplier",
    "report",
    "draft",
    "email",
    "team",
    "schedule",
    "tomorrow",
    "weather",
    "Paris",
    "Berlin",
    "Tokyo",
    "flight",
    "hotel",
    "booking",
    "price",
    "discount",
    "subscription",
    "cancel",
    "upgrade",
    "plan",
    "monthly",
    "annual",
    "and",
    "or",
    "but",
    "is",
    "are",
    "was",
    "will",
    "should",
    "can",
    "not",
    "it",
    "that",
    "we",
    "they",
    "there",
    "here",
    "new",
    "old",
    "first",
    "last",
    "next",
    "step",
    "check",
    "value",
    "config",
    "deploy",
    "server",
    "logs",
    "memory",
    "latency",
    "cache",
    "index",
    "record",
];

/// A small deterministic generator (xorshift64*).
pub struct Rng(
    /// The xorshift state (never 0).
    pub u64,
);

impl Rng {
    /// The next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True `percent` times in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    /// Between `lo` and `hi` bytes of sentences.
    pub fn text_in(&mut self, lo: u64, hi: u64) -> String {
        let bytes = self.range(lo, hi);
        self.text(bytes)
    }
    /// About `bytes` of sentences.
    pub fn text(&mut self, bytes: u64) -> String {
        let mut out = String::with_capacity(bytes as usize + 16);
        let mut sentence = 0;
        while (out.len() as u64) < bytes {
            let word = self.pick(WORDS);
            if sentence == 0 {
                let mut chars = word.chars();
                if let Some(c) = chars.next() {
                    out.extend(c.to_uppercase());
                    out.push_str(chars.as_str());
                }
            } else {
                out.push_str(word);
            }
            sentence += 1;
            if sentence > 6 && self.chance(15) {
                out.push_str(". ");
                sentence = 0;
            } else {
                out.push(' ');
            }
        }
        out.truncate(out.trim_end().len());
        out.push('.');
        out
    }
}
