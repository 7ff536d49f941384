// Package notify tells people what happened to their fullmakter, requests and
// consents. A Deriver follows the change sequence, the decision log and the
// calendar and stores one notification per event and person in the store's
// outbox (delegation.NotificationStore); the portal lists them with unread
// markers. A Delivery reads the outbox in order and hands each notification to a
// Sender; Webhook is the first Sender, and email or digital post can follow
// behind the same interface.
//
// Every position (in the change sequence, the decision log, the outbox) is a
// cursor kept in the store and moved in the same transaction as what it
// produced, so a restart neither loses nor repeats a notification, and a webhook
// receiver gets each one at least once, in order.
//
// It imports the domain (package delegation) and the standard library only:
// never a storage backend, the decision engine or the web packages.
package notify
