package notify

import (
	"context"

	"go.uber.org/zap"
)

// Log writes notifications to the log: for contacts that read the log (an
// operator's dashboard), for development, and as the record of last resort.
type Log struct {
	Logger *zap.Logger
}

// Send logs n; it cannot fail.
func (l *Log) Send(_ context.Context, to Recipient, n Notification) error {
	l.Logger.Info("notification",
		zap.String("notification_id", n.ID),
		zap.String("kind", n.Kind),
		zap.String("region_code", n.RegionCode),
		zap.String("role", n.Role),
		zap.Int64("contact_id", to.ContactID),
		zap.String("contact", to.Address),
		zap.String("subject", n.Subject),
		zap.String("body", n.Body),
		zap.Any("payload", n.Payload),
	)
	return nil
}
