//! Every scalar function's derivative against finite differences and dual numbers.
