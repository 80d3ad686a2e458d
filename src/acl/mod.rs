//! ACL users (Redis 7.0's acl.c): who a connection is, what it may run, which keys and channels it
//! may touch.
//!
//! This module owns the users (the `default` user and those ACL SETUSER, `user` directives or the
//! ACL file create), their rules and the permission checks, the ACL log, and the ACL file format.
//! It never touches sockets, clients or the keyspace: the server asks it whether a command may
//! run and acts on the answer (replies, disconnections).

pub mod category;
