package http1

import "strconv"

// AppendHead appends h as it would be forwarded: the start line
// normalised (single spaces; the version tandem speaks), every field as
// "Name: value", and the empty line. Framing fields are written as
// parsed; callers that reframe leave them out themselves.
func AppendHead(dst []byte, h *Head, response bool) []byte {
	if response {
		dst = append(dst, h.Version.String()...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(h.Status), 10)
		dst = append(dst, ' ')
		dst = append(dst, h.Reason...)
	} else {
		dst = append(dst, h.Method...)
		dst = append(dst, ' ')
		dst = append(dst, h.Target...)
		dst = append(dst, ' ')
		dst = append(dst, h.Version.String()...)
	}
	dst = append(dst, '\r', '\n')
	for _, f := range h.Fields {
		dst = AppendField(dst, f.Name, f.Value)
	}
	return append(dst, '\r', '\n')
}

// AppendField appends one "Name: value" field line.
func AppendField(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}
