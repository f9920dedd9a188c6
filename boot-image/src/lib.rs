//! The election office's tool (work in progress).
#![no_std]
