//! How a body is expanded: synchronous bodies (no frame), forwarding bodies (the call's value task), deferral.

mod forwarding;
mod synchronous_bodies;
