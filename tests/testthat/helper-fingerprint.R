# The md5 of the doubles of a list, written little-endian (platform-independent bytes, unlike
# serialize()): compares results bit for bit with output saved from an earlier build.
fingerprint <- function(x) {
  f <- tempfile()
  on.exit(unlink(f))
  con <- file(f, "wb")
  writeBin(as.double(unlist(x, use.names = FALSE)), con, endian = "little")
  close(con)
  unname(tools::md5sum(f))
}
