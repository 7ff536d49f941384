package delegation

import "log/slog"

// The records below hold identity numbers, names and birth dates. Their LogValue
// methods keep a log line useful (ids of records, statuses, redacted parties) without
// personal data when a record is logged as an attribute value. slog does not look
// inside slices and maps (they are encoded as JSON): never log a slice of records.

// LogValue implements slog.LogValuer.
func (p Person) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("id", p.ID))
}

// LogValue implements slog.LogValuer.
func (f Fullmakt) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", f.ID), slog.String("status", string(f.Status)),
		slog.String("origin", string(f.Origin)), slog.Any("grantor", f.Grantor), slog.Any("proxy", f.Proxy))
}

// LogValue implements slog.LogValuer.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", r.ID), slog.String("status", string(r.Status)))
}

// LogValue implements slog.LogValuer.
func (c Consent) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("status", string(c.Status)),
		slog.Any("recipient", c.Recipient), slog.Any("provider", c.Provider))
}
