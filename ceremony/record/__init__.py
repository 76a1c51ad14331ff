"""The signed ceremony record: canonical form and signatures, building, verifying."""
