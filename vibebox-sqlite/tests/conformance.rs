//! The store conformance suite, against a database file and against `sqlite::memory:`.

mod common;

mod on_disk {
    vibebox_core::store_conformance!(crate::common::disk_store());
}

mod in_memory {
    vibebox_core::store_conformance!(crate::common::memory_store());
}
