"""Geography: boundary generations, streets, communities, grids, industry grids, base records, the locator,
coordinate systems, the importer, grid-worker assignments and notices to a grid."""
