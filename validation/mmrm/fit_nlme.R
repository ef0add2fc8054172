# Fit MMRMs with nlme::gls for every dataset in outputs/data_*.csv; write outputs/nlme_<name>.csv.
# Unstructured = corSymm + varIdent; AR(1) = corAR1; CS = corCompSymm. REML, model: y ~ ARM*VISIT + BASE.
suppressMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) > 0) args[1] else "outputs"
files <- list.files(dir, pattern = "^data_.*\\.csv$", full.names = TRUE)
for (f in files) {
  d <- read.csv(f)
  d <- d[!is.na(d$Y), ]
  lv <- unique(d$VISIT)
  lv <- lv[order(as.integer(sub("V", "", lv)))]
  d$VISIT <- factor(d$VISIT, levels = lv)
  d$ARM <- factor(d$ARM, levels = c("PBO", "TRT"))
  d$vn <- as.integer(d$VISIT)
  fits <- list(
    us = gls(Y ~ ARM * VISIT + BASE, data = d, correlation = corSymm(form = ~ vn | SUBJ),
             weights = varIdent(form = ~ 1 | VISIT), method = "REML",
             control = glsControl(tolerance = 1e-10, msTol = 1e-10, maxIter = 500, msMaxIter = 500)),
    ar1 = gls(Y ~ ARM * VISIT + BASE, data = d, correlation = corAR1(form = ~ vn | SUBJ), method = "REML"),
    cs = gls(Y ~ ARM * VISIT + BASE, data = d, correlation = corCompSymm(form = ~ vn | SUBJ), method = "REML")
  )
  out <- NULL
  for (nm in names(fits)) {
    fit <- fits[[nm]]
    co <- summary(fit)$tTable
    v <- getVarCov(fit, individual = d$SUBJ[which.max(table(d$SUBJ)[as.character(d$SUBJ)])])
    out <- rbind(out, data.frame(cov = nm, kind = "coef", name = rownames(co),
                                 estimate = co[, 1], std_error = co[, 2], row.names = NULL))
    out <- rbind(out, data.frame(cov = nm, kind = "m2loglik", name = "-2LL",
                                 estimate = -2 * as.numeric(logLik(fit)), std_error = NA))
    m <- nrow(v)
    for (i in seq_len(m)) for (j in seq_len(m)) {
      out <- rbind(out, data.frame(cov = nm, kind = "sigma", name = sprintf("%d,%d", i, j),
                                   estimate = v[i, j], std_error = NA))
    }
  }
  name <- sub("^data_", "", sub("\\.csv$", "", basename(f)))
  write.csv(out, file.path(dir, paste0("nlme_", name, ".csv")), row.names = FALSE)
  cat("wrote", name, "\n")
}
cat(R.version.string, "nlme", as.character(packageVersion("nlme")), "\n")
