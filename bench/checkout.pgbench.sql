-- The writes one checkout makes, for pgbench; bench/shop.py fills in the ids in braces.
\set k random(0, {skus_minus_one})
\set level {level_base} + :k
\set variant {variant_base} + :k
BEGIN;
SELECT pasar_bench_enter({company}, NULL);
SELECT id, on_hand, reserved FROM inventory_stocklevel WHERE company_id = {company} AND id = :level FOR UPDATE;
UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now() WHERE company_id = {company} AND id = :level;
INSERT INTO inventory_reservation (public_id, status, idempotency_key, expires_at, created_at, channel_id, company_id) VALUES (gen_random_uuid(), 'pending', md5(random()::text || clock_timestamp()::text), now() + interval '30 minutes', now(), {channel}, {company}) RETURNING id AS reservation \gset
INSERT INTO inventory_reservationallocation (quantity, state, company_id, reservation_id, level_id, holds_until) VALUES (1, 'open', {company}, :reservation, :level, now() + interval '30 minutes');
INSERT INTO core_outboxevent (public_id, topic, payload, created_at, attempts, last_error, company_id, version) VALUES (gen_random_uuid(), 'reservation.created', '{{"reservation": "x", "channel": "web", "status": "pending", "lines": {{"BK": 1}}}}', now(), 0, '', {company}, 1);
INSERT INTO core_documentsequence (company_id, prefix, last_number) VALUES ({company}, 'SOB', 1) ON CONFLICT (company_id, prefix) DO UPDATE SET last_number = core_documentsequence.last_number + 1 RETURNING 'SOB-' || lpad(last_number::text, 7, '0') AS number \gset
INSERT INTO payments_payment (public_id, reference, description, amount, currency, expires_at, status, captured_amount, refunded_amount, review_reason, created_at, updated_at, company_id) VALUES (gen_random_uuid(), ':number', 'Order', 25.00, 'SGD', now() + interval '30 minutes', 'pending', 0, 0, '', now(), now(), {company}) RETURNING id AS payment, public_id AS payment_public \gset
INSERT INTO core_outboxevent (public_id, topic, payload, created_at, attempts, last_error, company_id, version) VALUES (gen_random_uuid(), 'payment.created', '{{"payment": "x", "reference": "x", "amount": "25.00"}}', now(), 0, '', {company}, 1);
INSERT INTO sales_order (public_id, number, status, channel, email, phone, shipping_address, delivery_name, delivery_kind, prices_include_gst, gst_rate, subtotal, discount, shipping, shipping_gst, gst, total, refunded, currency, codes, payment_id, stock_problem, idempotency_key, placed_at, updated_at, company_id, customer_id, reservation_id) VALUES (gen_random_uuid(), ':number', 'pending_payment', 'web', 'shopper@bench.example', '', '{{"block": "123", "street": "Ang Mo Kio Avenue 3", "postal_code": "560123"}}', 'Standard delivery', 'flat_rate', true, 0.09, 21.00, 0, 4.00, 0.33, 2.06, 25.00, 0, 'SGD', '[]', ':payment_public', '', ':number', now(), now(), {company}, {customer}, :reservation) RETURNING id AS "order" \gset
INSERT INTO sales_orderline (sku, name, tax_code, unit_price, quantity, gross, line_discount, order_discount, net, gst, quantity_shipped, quantity_returned, company_id, order_id, variant_id) VALUES ('BK', 'Kopi blend', 'SR', 21.00, 1, 21.00, 0, 0, 21.00, 1.73, 0, 0, {company}, :order, :variant);
INSERT INTO sales_orderhistory (action, status_from, status_to, note, created_at, company_id, order_id) VALUES ('placed', '', 'pending_payment', '', now(), {company}, :order);
INSERT INTO core_outboxevent (public_id, topic, payload, created_at, attempts, last_error, company_id, version) VALUES (gen_random_uuid(), 'order.placed', '{{"order": "x", "number": "x", "lines": [{{"sku": "BK", "quantity": 1}}]}}', now(), 0, '', {company}, 1);
COMMIT;
BEGIN;
SELECT pasar_bench_enter({company}, NULL);
INSERT INTO payments_webhooklog (public_id, gateway, received_at, outcome, detail, event_id, event_kind, headers, body, remote_addr, company_id, body_bytes) VALUES (gen_random_uuid(), 'sandbox', now(), 'processed', '', ':number', 'captured', '{{}}', '{{"type": "charge.succeeded"}}', '127.0.0.1', {company}, 200);
SELECT id FROM payments_payment WHERE company_id = {company} AND id = :payment FOR UPDATE;
INSERT INTO payments_capture (public_id, gateway, provider_reference, amount, currency, created_at, announced_at, company_id, payment_id) VALUES (gen_random_uuid(), 'sandbox', ':number', 25.00, 'SGD', now(), now(), {company}, :payment);
UPDATE payments_payment SET status = 'captured', captured_amount = 25.00, captured_at = now(), updated_at = now() WHERE company_id = {company} AND id = :payment;
INSERT INTO core_outboxevent (public_id, topic, payload, created_at, attempts, last_error, company_id, version) VALUES (gen_random_uuid(), 'payment.captured', '{{"payment": "x", "reference": "x", "amount": "25.00"}}', now(), 0, '', {company}, 1) RETURNING id AS captured, public_id AS captured_public \gset
COMMIT;
BEGIN;
SELECT pasar_bench_enter({company}, NULL);
SELECT id FROM sales_order WHERE company_id = {company} AND id = :order FOR UPDATE;
SELECT id FROM inventory_reservation WHERE company_id = {company} AND id = :reservation FOR UPDATE;
SELECT id FROM inventory_stocklevel WHERE company_id = {company} AND id = :level FOR UPDATE;
UPDATE inventory_reservationallocation SET holds_until = NULL WHERE company_id = {company} AND reservation_id = :reservation;
UPDATE inventory_reservation SET status = 'committed', committed_at = now() WHERE company_id = {company} AND id = :reservation;
UPDATE sales_order SET status = 'paid', paid_at = now(), updated_at = now() WHERE company_id = {company} AND id = :order;
INSERT INTO sales_orderhistory (action, status_from, status_to, note, created_at, company_id, order_id) VALUES ('paid', 'pending_payment', 'paid', '', now(), {company}, :order);
INSERT INTO core_outboxevent (public_id, topic, payload, created_at, attempts, last_error, company_id, version) VALUES (gen_random_uuid(), 'order.paid', '{{"order": "x"}}', now(), 0, '', {company}, 3) RETURNING id AS paid, public_id AS paid_public \gset
INSERT INTO core_eventdelivery (event_id, handler, delivered_at) VALUES (:captured, 'bench.mark_order_paid', now());
UPDATE core_outboxevent SET relayed_at = now() WHERE id = :captured;
COMMIT;
BEGIN;
SELECT pasar_bench_enter({company}, NULL);
SELECT id FROM ledger_journalentry WHERE company_id = {company} AND event_id = ':captured_public' AND source = 'capture';
SELECT id FROM ledger_periodlock WHERE company_id = {company} AND start <= current_date AND "end" >= current_date ORDER BY "end" DESC LIMIT 1;
SELECT id, role FROM ledger_account WHERE company_id = {company} AND role IN ('payment_clearing', 'customer_receipts');
INSERT INTO core_documentsequence (company_id, prefix, last_number) VALUES ({company}, 'JEB', 1) ON CONFLICT (company_id, prefix) DO UPDATE SET last_number = core_documentsequence.last_number + 1 RETURNING 'JEB-' || lpad(last_number::text, 7, '0') AS capture_number \gset
INSERT INTO ledger_journalentry (public_id, number, date, description, source, reference, event_id, posted_at, company_id) VALUES (gen_random_uuid(), ':capture_number', current_date, 'Payment', 'capture', ':number', ':captured_public', now(), {company}) RETURNING id AS capture_entry \gset
INSERT INTO ledger_journalline (company_id, entry_id, account_id, date, debit, credit, tax_code, tax_base, tax, description) VALUES ({company}, :capture_entry, {clearing}, current_date, 25.00, 0, '', 0, 0, ''), ({company}, :capture_entry, {receipts}, current_date, 0, 25.00, '', 0, 0, '');
INSERT INTO core_eventdelivery (event_id, handler, delivered_at) VALUES (:captured, 'pasar.ledger.handlers.post_captured_payment', now());
SELECT id FROM ledger_journalentry WHERE company_id = {company} AND event_id = ':paid_public' AND source = 'sale';
SELECT id FROM ledger_periodlock WHERE company_id = {company} AND start <= current_date AND "end" >= current_date;
SELECT id FROM ledger_document WHERE company_id = {company} AND event_id = ':paid_public' AND kind <> 'credit_note' LIMIT 1;
INSERT INTO core_documentsequence (company_id, prefix, last_number) VALUES ({company}, 'INVB', 1) ON CONFLICT (company_id, prefix) DO UPDATE SET last_number = core_documentsequence.last_number + 1 RETURNING 'INVB-' || lpad(last_number::text, 6, '0') AS document_number \gset
INSERT INTO ledger_document (public_id, kind, number, issued_on, "order", order_number, supplier, customer_name, customer_email, customer_address, currency, gst_rate, prices_include_gst, lines, subtotal, gst, total, reason, event_id, outputs, created_at, company_id) VALUES (gen_random_uuid(), 'simplified_tax_invoice', ':document_number', current_date, NULL, ':number', '{{"name": "Bench Pte. Ltd.", "uen": "201812345M", "gst_number": "M90312345A", "address": []}}', 'Bench shopper', 'bench@example.com', '[]', 'SGD', 0.09, true, '[{{"description": "Kopi", "tax_code": "SR", "quantity": "1", "unit_price": "21.00", "discount": "0.00", "amount": "19.27", "gst": "1.73"}}]', 22.94, 2.06, 25.00, '', ':paid_public', 0, now(), {company}) RETURNING id AS document \gset
SELECT id, role FROM ledger_account WHERE company_id = {company} AND role IN ('customer_receipts', 'sales', 'shipping_income', 'gst_output');
INSERT INTO core_documentsequence (company_id, prefix, last_number) VALUES ({company}, 'JEB', 1) ON CONFLICT (company_id, prefix) DO UPDATE SET last_number = core_documentsequence.last_number + 1 RETURNING 'JEB-' || lpad(last_number::text, 7, '0') AS entry_number \gset
INSERT INTO ledger_journalentry (public_id, number, date, description, source, reference, event_id, posted_at, company_id) VALUES (gen_random_uuid(), ':entry_number', current_date, 'Sale', 'sale', ':number', ':paid_public', now(), {company}) RETURNING id AS entry \gset
INSERT INTO ledger_journalline (company_id, entry_id, account_id, date, debit, credit, tax_code, tax_base, tax, description) VALUES ({company}, :entry, {receipts}, current_date, 25.00, 0, '', 0, 0, ''), ({company}, :entry, {sales}, current_date, 0, 19.27, 'SR', 19.27, 0, ''), ({company}, :entry, {shipping}, current_date, 0, 3.67, 'SR', 3.67, 0, ''), ({company}, :entry, {gst_output}, current_date, 0, 2.06, 'SR', 0, 2.06, '');
INSERT INTO core_eventdelivery (event_id, handler, delivered_at) VALUES (:paid, 'pasar.ledger.handlers.post_paid_sale', now());
UPDATE core_outboxevent SET relayed_at = now() WHERE id = :paid;
COMMIT;
BEGIN;
SELECT pasar_bench_enter({company}, NULL);
SELECT outputs FROM ledger_document WHERE company_id = {company} AND id = :document FOR UPDATE;
UPDATE ledger_document SET outputs = 1, emailed_at = now() WHERE company_id = {company} AND id = :document;
COMMIT;
