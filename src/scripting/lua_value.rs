//! Conversions between Redis replies and Lua values, with Redis's rules (script_lua.c):
//! a command's RESP reply becomes a Lua value for `redis.call`, and a script's return value
//! becomes the RESP reply its caller gets.
//!
//! # Format
//! ```text
//! RESP -> Lua:  :n -> number   $s -> string   $-1 / *-1 -> false   +s -> {ok=s}   -e -> {err=e}
//!               *n -> array    RESP3: %n -> {map={..}}  ~n -> {set={..}}  _ -> nil  #t -> boolean
//!               ,d -> {double=d}  (b -> {big_number=s}  =n -> {verbatim_string={format=,string=}}
//! Lua -> RESP:  string -> bulk   number -> integer (truncated)   true -> :1   false/nil -> null
//!               {err=e} -> error   {ok=s} -> status   array table -> array up to the first nil
//! ```
//! Never panics on a malformed reply: it comes from our own handlers, but a parse failure is an
//! error value, not a crash.

use mlua::{Lua, Table, Value};

use crate::resp::reply::ReplyBuf;

/// Parse one RESP reply from `buf` at `*pos` into a Lua value.
pub fn resp_to_lua(lua: &Lua, buf: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let line_end = memchr::memchr(b'\n', &buf[(*pos).min(buf.len())..])
        .map(|i| *pos + i)
        .ok_or_else(|| mlua::Error::runtime("truncated reply"))?;
    let kind = buf[*pos];
    let line = &buf[*pos + 1..line_end.saturating_sub(1).max(*pos + 1)];
    *pos = line_end + 1;
    let text = || String::from_utf8_lossy(line).into_owned();
    let int = || crate::numeric::parse_i64(line).ok_or_else(|| mlua::Error::runtime("bad integer in reply"));
    match kind {
        b':' => Ok(Value::Number(int()? as f64)),
        b'$' | b'=' => {
            let n = int()?;
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let end = *pos + n as usize;
            let data = buf.get(*pos..end).ok_or_else(|| mlua::Error::runtime("truncated bulk"))?;
            *pos = end + 2;
            if kind == b'=' {
                let t = lua.create_table()?;
                let inner = lua.create_table()?;
                inner.set("format", lua.create_string(data.get(..3).unwrap_or_default())?)?;
                inner.set("string", lua.create_string(data.get(4..).unwrap_or_default())?)?;
                t.set("verbatim_string", inner)?;
                return Ok(Value::Table(t));
            }
            Ok(Value::String(lua.create_string(data)?))
        }
        b'+' => single_field(lua, "ok", Value::String(lua.create_string(line)?)),
        b'-' => single_field(lua, "err", Value::String(lua.create_string(line)?)),
        b'*' | b'~' | b'>' => {
            let n = int()?;
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table()?;
            for i in 1..=n {
                let v = resp_to_lua(lua, buf, pos)?;
                if kind == b'~' {
                    // A set is {set={member=true, ...}}.
                    t.set(v, true)?;
                } else {
                    t.raw_set(i, v)?;
                }
            }
            if kind == b'~' { single_field(lua, "set", Value::Table(t)) } else { Ok(Value::Table(t)) }
        }
        b'%' => {
            let n = int()?;
            let t = lua.create_table()?;
            for _ in 0..n.max(0) {
                let k = resp_to_lua(lua, buf, pos)?;
                let v = resp_to_lua(lua, buf, pos)?;
                t.set(k, v)?;
            }
            single_field(lua, "map", Value::Table(t))
        }
        b'_' => Ok(Value::Nil),
        b'#' => Ok(Value::Boolean(line == b"t")),
        b',' => {
            let d: f64 = text().parse().unwrap_or(0.0);
            single_field(lua, "double", Value::Number(d))
        }
        b'(' => single_field(lua, "big_number", Value::String(lua.create_string(line)?)),
        _ => Err(mlua::Error::runtime("unknown reply type")),
    }
}

fn single_field(lua: &Lua, name: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.set(name, v)?;
    Ok(Value::Table(t))
}

/// Write a script's return value as the reply to its caller.
pub fn lua_to_reply(v: &Value, out: &mut ReplyBuf, depth: usize) {
    if depth > 64 {
        out.error(b"ERR reached lua stack limit");
        return;
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(true) => {
            if out.resp == 3 {
                out.bool(true)
            } else {
                out.int(1)
            }
        }
        Value::Boolean(false) => {
            if out.resp == 3 {
                out.bool(false)
            } else {
                out.null()
            }
        }
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(*n as i64),
        Value::Table(t) => table_to_reply(t, out, depth),
        _ => out.null(),
    }
}

fn table_to_reply(t: &Table, out: &mut ReplyBuf, depth: usize) {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        let bytes = e.as_bytes();
        let text: &[u8] = bytes.strip_prefix(b"-").unwrap_or(&bytes);
        out.error(text);
        return;
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let bytes = s.as_bytes();
        // A status is one line.
        let line: Vec<u8> = bytes.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        out.simple(&line);
        return;
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        out.double(d);
        return;
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(k, out, depth + 1);
            lua_to_reply(v, out, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = m.pairs::<Value, Value>().filter_map(Result::ok).map(|(k, _)| k).collect();
        out.set(members.len());
        for k in &members {
            lua_to_reply(k, out, depth + 1);
        }
        return;
    }
    let mut items = Vec::new();
    let mut i = 1;
    while let Ok(v) = t.raw_get::<Value>(i) {
        if v.is_nil() {
            break;
        }
        items.push(v);
        i += 1;
    }
    out.array(items.len());
    for v in &items {
        lua_to_reply(v, out, depth + 1);
    }
}

/// A Lua number as a command argument: integral values without a fraction, others in their
/// shortest exact form.
pub fn number_arg(n: f64) -> Vec<u8> {
    if n.fract() == 0.0 && n.abs() < 1e17 {
        return format!("{}", n as i64).into_bytes();
    }
    format!("{n}").into_bytes()
}
