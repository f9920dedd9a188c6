//! A reader for the parts of the WebAssembly binary format the payload checks need: the
//! section list, imports, exports and the function names of the `name` section; and a
//! writer that drops custom sections and exports outside the ABI.
//!
//! Format: magic `\0asm`, version 1, then sections `(id: u8, size: LEB128 u32, body)`.

/// The module magic.
pub const MAGIC: &[u8; 4] = b"\0asm";
/// The only binary format version.
pub const VERSION: [u8; 4] = [1, 0, 0, 0];

/// Section id of custom sections (names, producers, debug info).
pub const SECTION_CUSTOM: u8 = 0;
/// Section id of the import section.
pub const SECTION_IMPORT: u8 = 2;
/// Section id of the export section.
pub const SECTION_EXPORT: u8 = 7;
/// Name of the custom section holding debug names.
pub const NAME_SECTION: &str = "name";
/// Subsection of the `name` section holding function names.
const NAME_SUBSECTION_FUNCTIONS: u8 = 1;

/// One section: its id and body (for custom sections the body includes the name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    /// Section id.
    pub id: u8,
    /// Section body.
    pub body: &'a [u8],
}

/// What an import or export refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A function.
    Function,
    /// A table.
    Table,
    /// A linear memory.
    Memory,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

impl Kind {
    fn from_byte(byte: u8, at: usize) -> Result<Kind, String> {
        Ok(match byte {
            0 => Kind::Function,
            1 => Kind::Table,
            2 => Kind::Memory,
            3 => Kind::Global,
            4 => Kind::Tag,
            other => return Err(format!("unknown external kind {other} at byte {at}")),
        })
    }
}

/// An import: module and field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Import module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: Kind,
}

/// An export: name and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// What is exported.
    pub kind: Kind,
}

/// A cursor over a byte slice; errors name the offset within the whole module.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Reader {
            bytes,
            pos: 0,
            base,
        }
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| format!("unexpected end of module at byte {}", self.at()))?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "{len} bytes at byte {} run past the end of the module",
                    self.at()
                )
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    /// An unsigned LEB128 number of at most 32 bits.
    fn u32(&mut self) -> Result<u32, String> {
        let start = self.at();
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            let bits = u32::from(byte & 0x7f);
            if shift == 28 && bits > 0x0f {
                return Err(format!("LEB128 number at byte {start} exceeds 32 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!(
            "LEB128 number at byte {start} is longer than 5 bytes"
        ))
    }

    fn len(&mut self) -> Result<usize, String> {
        Ok(self.u32()? as usize)
    }

    fn name(&mut self) -> Result<String, String> {
        let at = self.at();
        let len = self.len()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("name at byte {at} is not UTF-8"))
    }

    fn limits(&mut self) -> Result<(), String> {
        let flags = self.byte()?;
        self.u32()?;
        if flags & 1 == 1 {
            self.u32()?;
        }
        Ok(())
    }
}

fn write_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_name(out: &mut Vec<u8>, name: &str) -> Result<(), String> {
    let len = u32::try_from(name.len()).map_err(|_| format!("name of {} bytes", name.len()))?;
    write_u32(out, len);
    out.extend_from_slice(name.as_bytes());
    Ok(())
}

/// A parsed module: its sections in order.
#[derive(Debug, Clone)]
pub struct Module<'a> {
    /// The sections in file order.
    pub sections: Vec<Section<'a>>,
    /// Byte offset of each section body in the file (for error messages).
    offsets: Vec<usize>,
}

impl<'a> Module<'a> {
    /// Split `bytes` into sections; checks the header and that sections tile the file.
    pub fn parse(bytes: &'a [u8]) -> Result<Module<'a>, String> {
        if bytes.get(..4) != Some(&MAGIC[..]) {
            return Err("not a WebAssembly module (bad magic)".to_owned());
        }
        if bytes.get(4..8) != Some(&VERSION[..]) {
            return Err("unsupported WebAssembly version".to_owned());
        }
        let mut reader = Reader::new(&bytes[8..], 8);
        let mut sections = Vec::new();
        let mut offsets = Vec::new();
        while !reader.done() {
            let id = reader.byte()?;
            let len = reader.len()?;
            offsets.push(reader.at());
            let body = reader.take(len)?;
            sections.push(Section { id, body });
        }
        Ok(Module { sections, offsets })
    }

    /// A reader over each section's body, with the section.
    fn readers(&self) -> impl Iterator<Item = (Reader<'a>, &Section<'a>)> {
        self.sections
            .iter()
            .zip(&self.offsets)
            .map(|(section, &offset)| (Reader::new(section.body, offset), section))
    }

    /// A reader over the body of each section with `id`.
    fn readers_of(&self, id: u8) -> impl Iterator<Item = Reader<'a>> + '_ {
        self.readers()
            .filter(move |(_, section)| section.id == id)
            .map(|(reader, _)| reader)
    }

    /// Every import.
    pub fn imports(&self) -> Result<Vec<Import>, String> {
        let mut imports = Vec::new();
        for mut reader in self.readers_of(SECTION_IMPORT) {
            let count = reader.u32()?;
            for _ in 0..count {
                let module = reader.name()?;
                let name = reader.name()?;
                let at = reader.at();
                let kind = Kind::from_byte(reader.byte()?, at)?;
                match kind {
                    Kind::Function => {
                        reader.u32()?;
                    }
                    Kind::Table => {
                        reader.byte()?;
                        reader.limits()?;
                    }
                    Kind::Memory => reader.limits()?,
                    Kind::Global => {
                        reader.byte()?;
                        reader.byte()?;
                    }
                    Kind::Tag => {
                        reader.byte()?;
                        reader.u32()?;
                    }
                }
                imports.push(Import { module, name, kind });
            }
        }
        Ok(imports)
    }

    /// Every export.
    pub fn exports(&self) -> Result<Vec<Export>, String> {
        let mut exports = Vec::new();
        for mut reader in self.readers_of(SECTION_EXPORT) {
            let count = reader.u32()?;
            for _ in 0..count {
                let name = reader.name()?;
                let at = reader.at();
                let kind = Kind::from_byte(reader.byte()?, at)?;
                reader.u32()?;
                exports.push(Export { name, kind });
            }
        }
        Ok(exports)
    }

    /// The function names of the `name` custom section (empty if there is none).
    pub fn function_names(&self) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        for mut reader in self.readers_of(SECTION_CUSTOM) {
            if reader.name()? != NAME_SECTION {
                continue;
            }
            while !reader.done() {
                let id = reader.byte()?;
                let len = reader.len()?;
                let at = reader.at();
                let body = reader.take(len)?;
                if id != NAME_SUBSECTION_FUNCTIONS {
                    continue;
                }
                let mut sub = Reader::new(body, at);
                let count = sub.u32()?;
                for _ in 0..count {
                    sub.u32()?;
                    names.push(sub.name()?);
                }
            }
        }
        Ok(names)
    }

    /// The module without custom sections and with only the exports named in `keep`.
    pub fn stripped(&self, keep: &[&str]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION);
        for (mut reader, section) in self.readers() {
            let body = match section.id {
                SECTION_CUSTOM => continue,
                SECTION_EXPORT => {
                    let count = reader.u32()?;
                    let mut kept = Vec::new();
                    let mut entries = Vec::new();
                    for _ in 0..count {
                        let name = reader.name()?;
                        let kind = reader.byte()?;
                        let index = reader.u32()?;
                        if keep.contains(&name.as_str()) {
                            write_name(&mut entries, &name)?;
                            entries.push(kind);
                            write_u32(&mut entries, index);
                            kept.push(name);
                        }
                    }
                    let mut body = Vec::new();
                    write_u32(&mut body, kept.len() as u32);
                    body.extend_from_slice(&entries);
                    body
                }
                _ => section.body.to_vec(),
            };
            out.push(section.id);
            let len = u32::try_from(body.len())
                .map_err(|_| format!("section of {} bytes", body.len()))?;
            write_u32(&mut out, len);
            out.extend_from_slice(&body);
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn section(id: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![id];
        write_u32(&mut out, body.len() as u32);
        out.extend_from_slice(body);
        out
    }

    fn name(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_name(&mut out, text).unwrap();
        out
    }

    /// A module with the given function imports, exports `(name, kind byte)` and function
    /// names, plus a `producers` custom section. Only the structure our reader needs.
    pub(crate) fn module(
        imports: &[(&str, &str)],
        exports: &[(&str, u8)],
        function_names: &[&str],
    ) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(MAGIC);
        m.extend_from_slice(&VERSION);
        // type section: one type () -> ()
        m.extend(section(1, &[1, 0x60, 0, 0]));
        if !imports.is_empty() {
            let mut body = Vec::new();
            write_u32(&mut body, imports.len() as u32);
            for (module, field) in imports {
                body.extend(name(module));
                body.extend(name(field));
                body.extend([0, 0]);
            }
            m.extend(section(SECTION_IMPORT, &body));
        }
        let mut body = Vec::new();
        write_u32(&mut body, exports.len() as u32);
        for (index, (export, kind)) in exports.iter().enumerate() {
            body.extend(name(export));
            body.push(*kind);
            write_u32(&mut body, index as u32);
        }
        m.extend(section(SECTION_EXPORT, &body));
        if !function_names.is_empty() {
            let mut body = name(NAME_SECTION);
            let mut functions = Vec::new();
            write_u32(&mut functions, function_names.len() as u32);
            for (index, text) in function_names.iter().enumerate() {
                write_u32(&mut functions, index as u32);
                functions.extend(name(text));
            }
            body.push(NAME_SUBSECTION_FUNCTIONS);
            write_u32(&mut body, functions.len() as u32);
            body.extend(functions);
            m.extend(section(SECTION_CUSTOM, &body));
        }
        let mut producers = name("producers");
        producers.push(0);
        m.extend(section(SECTION_CUSTOM, &producers));
        m
    }

    /// A module with a function import, a memory import, two exports and names.
    fn sample() -> Vec<u8> {
        let mut m = module(
            &[("env", "tick")],
            &[("keep", 0), ("drop", 0)],
            &["tick", "keep", "alloc::alloc::handle_alloc_error"],
        );
        // Append a memory import section (limits min 1, max 2) to test the limits reader.
        let mut imports = vec![1];
        imports.extend(name("env"));
        imports.extend(name("mem"));
        imports.extend([2, 1, 1, 2]);
        m.extend(section(SECTION_IMPORT, &imports));
        m
    }

    #[test]
    fn reads_imports_exports_and_function_names() {
        let bytes = sample();
        let module = Module::parse(&bytes).unwrap();
        assert_eq!(
            module.imports().unwrap(),
            vec![
                Import {
                    module: "env".into(),
                    name: "tick".into(),
                    kind: Kind::Function
                },
                Import {
                    module: "env".into(),
                    name: "mem".into(),
                    kind: Kind::Memory
                },
            ]
        );
        let exports: Vec<String> = module
            .exports()
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(exports, ["keep", "drop"]);
        assert_eq!(
            module.function_names().unwrap(),
            ["tick", "keep", "alloc::alloc::handle_alloc_error"]
        );
    }

    #[test]
    fn stripping_drops_custom_sections_and_unlisted_exports() {
        let bytes = sample();
        let module = Module::parse(&bytes).unwrap();
        let stripped = module.stripped(&["keep"]).unwrap();
        let again = Module::parse(&stripped).unwrap();
        assert!(again.sections.iter().all(|s| s.id != SECTION_CUSTOM));
        let exports: Vec<String> = again
            .exports()
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(exports, ["keep"]);
        assert_eq!(again.imports().unwrap(), module.imports().unwrap());
        assert!(again.function_names().unwrap().is_empty());
        // Stripping is idempotent.
        assert_eq!(again.stripped(&["keep"]).unwrap(), stripped);
    }

    #[test]
    fn rejects_bad_headers_and_truncation() {
        assert!(Module::parse(b"\0asx\x01\0\0\0")
            .unwrap_err()
            .contains("magic"));
        assert!(Module::parse(b"\0asm\x02\0\0\0")
            .unwrap_err()
            .contains("version"));
        let bytes = sample();
        let cut = &bytes[..bytes.len() - 3];
        assert!(Module::parse(cut).unwrap_err().contains("past the end"));
    }

    #[test]
    fn leb128_rejects_overlong_and_oversized_numbers() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f], 0);
        assert_eq!(r.u32().unwrap(), u32::MAX);
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f], 0);
        assert!(r.u32().unwrap_err().contains("32 bits"));
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 0);
        assert!(r.u32().is_err());
        for value in [0, 1, 127, 128, 300, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_u32(&mut out, value);
            assert_eq!(Reader::new(&out, 0).u32().unwrap(), value);
        }
    }
}
