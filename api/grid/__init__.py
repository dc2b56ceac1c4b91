"""The geography over GraphQL: streets, communities, basic and industry grids, base records,
locating; notices to a grid."""
