library(testthat)
library(fastdml)

test_check("fastdml")
