//! Domain XML templates of the tiers (`[live] templates`): reading a replica's memory and vCPUs
//! from one, and instantiating one under a replica's name.

/// The `<memory>` of a domain XML, in KiB (honouring its `unit`).
pub fn template_memory_kib(xml: &str) -> Option<u64> {
    let (attrs, text) = element(xml, "memory")?;
    let value: f64 = text.trim().parse().ok()?;
    let unit = attr(attrs, "unit").unwrap_or("KiB");
    let bytes = match unit {
        "b" | "bytes" => 1.0,
        "KB" => 1e3,
        "k" | "KiB" => 1024.0,
        "MB" => 1e6,
        "M" | "MiB" => 1024.0 * 1024.0,
        "GB" => 1e9,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((value * bytes / 1024.0).round() as u64)
}

pub fn template_vcpus(xml: &str) -> Option<f64> {
    element(xml, "vcpu")?.1.trim().parse().ok()
}

/// The attributes and text of the first `<tag ...>text</tag>` in `xml` (enough for the flat
/// elements of a domain's top level; not a general XML parser).
fn element<'a>(xml: &'a str, tag: &str) -> Option<(&'a str, &'a str)> {
    let xml = &xml[xml.find("<domain").unwrap_or(0)..];
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let start = from + i + open.len();
        let rest = &xml[start..];
        if rest.starts_with(['>', ' ', '\t', '\n', '\r']) {
            let gt = rest.find('>')?;
            let attrs = &rest[..gt];
            let body = &rest[gt + 1..];
            let end = body.find(&format!("</{tag}>"))?;
            return Some((attrs, &body[..end]));
        }
        from = start;
    }
    None
}

fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    for q in ['\'', '"'] {
        let key = format!("{name}={q}");
        if let Some(i) = attrs.find(&key) {
            let v = &attrs[i + key.len()..];
            return v.find(q).map(|e| &v[..e]);
        }
    }
    None
}

/// A template with its `<name>` set to `name` and its `<uuid>` removed (libvirt then makes a
/// fresh one, so two replicas from one template never clash).
pub fn instantiate_template(template: &str, name: &str) -> String {
    // From the root element on: a comment before it may well mention `<name>`.
    let root = template.find("<domain").unwrap_or(0);
    let (head, body) = template.split_at(root);
    let mut xml = body.to_string();
    if let (Some(s), Some(e)) = (xml.find("<name>"), xml.find("</name>")) {
        if s < e {
            xml.replace_range(s..e + "</name>".len(), &format!("<name>{name}</name>"));
        }
    }
    if let (Some(s), Some(e)) = (xml.find("<uuid>"), xml.find("</uuid>")) {
        if s < e {
            xml.replace_range(s..e + "</uuid>".len(), "");
        }
    }
    format!("{head}{xml}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_instantiated_and_read() {
        let t = "<!-- reconf sets <name> and <memory> -->\n<domain type='qemu'>\n  <name>x</name>\n  <uuid>1234</uuid>\n  <memory unit='MiB'>128</memory>\n  <vcpu placement='static'>2</vcpu>\n</domain>";
        let x = instantiate_template(t, "rubis-app-3");
        assert!(x.contains("<name>rubis-app-3</name>"));
        assert!(!x.contains("uuid"));
        assert_eq!(template_memory_kib(t), Some(131072));
        assert_eq!(template_vcpus(t), Some(2.0));
        assert_eq!(template_memory_kib("<memory>65536</memory>"), Some(65536));
    }
}
