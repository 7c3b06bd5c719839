//! What `micromodel demo` prints on stdout once it is ready: the address, a `curl` line and a
//! Python snippet to try, where the records go and the data tools to read them.

use std::fmt::Write as _;
use std::path::Path;

/// The facts the banner shows.
#[derive(Debug)]
pub(crate) struct Banner<'a> {
    /// `http://127.0.0.1:<port>`: where clients connect.
    pub base: String,
    /// The built-in upstream's URL.
    pub upstream: &'a str,
    /// Today's data file of the `demo` workflow.
    pub record_file: &'a Path,
    /// `--data-dir`.
    pub data_dir: &'a Path,
    /// The config file the demo wrote and watches.
    pub config: &'a Path,
    /// How this binary was invoked (`argv[0]`), for the data tool lines.
    pub program: &'a str,
}

/// The first words of the line that gives the address (tests and scripts look for it).
pub(crate) const READY: &str = "MicroModel demo is ready on";
/// The request both examples send.
const PROMPT: &str = "Hello, MicroModel!";

impl Banner<'_> {
    /// The `curl` line: one non-streamed chat request.
    pub(crate) fn curl(&self) -> String {
        format!(
            "curl -s {}{} -H 'Content-Type: application/json' \
             -d '{{\"model\":\"demo\",\"messages\":[{{\"role\":\"user\",\"content\":\"{PROMPT}\"}}]}}'",
            self.base,
            crate::record::EndpointKind::Chat.path()
        )
    }

    /// A complete Python program (openai SDK) that sends one request and prints the answer,
    /// as a shell here-document.
    pub(crate) fn python(&self) -> String {
        format!(
            "python3 - <<'EOF'\n\
             from openai import OpenAI\n\
             client = OpenAI(base_url=\"{}/v1\", api_key=\"demo\")\n\
             answer = client.chat.completions.create(\n    \
                 model=\"demo\", messages=[{{\"role\": \"user\", \"content\": \"{PROMPT}\"}}]\n\
             )\n\
             print(answer.choices[0].message.content)\n\
             EOF",
            self.base
        )
    }

    /// The whole text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let indent = |text: &str| {
            text.lines()
                .map(|line| format!("    {line}\n"))
                .collect::<String>()
        };
        let program = shell_quote(self.program);
        let data_dir = shell_quote(&self.data_dir.display().to_string());
        let _ = writeln!(
            out,
            "{READY} {} (workflow \"demo\", answered by the built-in upstream at {}).\n",
            self.base, self.upstream
        );
        let _ = writeln!(out, "Try it with curl:\n\n{}", indent(&self.curl()));
        let _ = writeln!(
            out,
            "Or with Python (pip install openai):\n\n{}",
            indent(&self.python())
        );
        let _ = writeln!(out, "Records go to: {}", self.record_file.display());
        let _ = writeln!(
            out,
            "  (one folder per workflow and UTC day, named DD-MM-YYYY)\n"
        );
        let _ = writeln!(out, "Read them:\n");
        let _ = writeln!(
            out,
            "{}",
            indent(&format!(
                "cat {}\n{program} stats --data-dir {data_dir}\n\
                 {program} export --data-dir {data_dir} --format openai",
                shell_quote(&self.record_file.display().to_string())
            ))
        );
        let _ = writeln!(
            out,
            "Config: {} (written at start, watched: add workflows to it and they start; \
             SIGHUP reloads).\nStop with Ctrl-C.",
            self.config.display()
        );
        out
    }
}

/// `text` as one shell word: unchanged when it is plain, else in single quotes.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=,@%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("./data"), "./data");
        assert_eq!(shell_quote("my data"), "'my data'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
