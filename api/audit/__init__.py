"""The audit log over GraphQL, for auditors."""
