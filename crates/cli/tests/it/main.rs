//! The one integration-test binary: every test here talks to a real `tekkan` server on
//! 127.0.0.1 with a fresh SQLite file (in-process through `TestApp`, or the built binary
//! where the command line itself is under test).

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod announcements;
mod attendance;
mod attendance_burst;
mod audit;
pub mod backup;
mod backup_faults;
mod backup_leftovers;
mod backup_s3;
mod bad_input;
pub mod bad_input_activities;
mod bad_input_security;
mod breach;
mod browser;
mod browser_activities;
mod browser_schedule;
mod calendar;
mod cli;
mod clubs;
mod containment;
mod containment_keys;
mod db_move;
mod delivery;
mod detection;
mod disk_full;
mod docs;
mod events;
mod files;
mod health;
mod idempotency;
mod incidents;
mod instances;
mod instances_audit;
mod instances_jobs;
mod invitations;
mod key_commitments;
mod keys;
mod lockout;
mod matrix;
mod metrics;
pub mod mfa;
mod newcomer;
mod passkeys;
mod personal;
mod pg_restart;
mod polls;
mod privacy;
mod reads;
mod reads_durable;
mod receipts;
mod recovery;
mod redirects;
mod roll_call;
mod rollback;
mod schema;
mod security;
mod sessions;
mod signed_actions;
mod signup;
mod support;
mod tampered_rows;
mod throttle;
mod tls;
mod tls_browser;
mod transparency;
