package authzen

// SetFeedLimits lowers how many changes one read covers and how many tags a
// changes event names, so that tests reach both limits with a few changes. Call
// it before the feed runs.
func SetFeedLimits(f *Feed, batch, maxTags int) { f.batch, f.maxTags = batch, maxTags }
