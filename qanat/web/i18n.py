"""The inbox's words in Arabic (the default) and English, and the layout direction of each."""

from __future__ import annotations

from collections.abc import Callable

from qanat.web import i18n_admin, i18n_work
from qanat.web.i18n_field import FIELD_TEXTS, FIELD_VALUES

LANGUAGES = ("ar", "en")
DEFAULT_LANGUAGE = "ar"

#: key → (Arabic, English). Enum values (status, kind, …) are keys too.
TEXTS: dict[str, tuple[str, str]] = {
    "app_name": ("قناة", "qanat"),
    "inbox": ("صندوق الوارد", "Inbox"),
    "dashboard": ("لوحة المتابعة", "Dashboard"),
    "admin": ("الإدارة", "Admin"),
    "audit_log": ("سجل التدقيق", "Audit log"),
    "api_tokens": ("مفاتيح الواجهة البرمجية", "API tokens"),
    "account": ("حسابي", "My account"),
    "log_in": ("تسجيل الدخول", "Log in"),
    "log_out": ("تسجيل الخروج", "Log out"),
    "username": ("اسم المستخدم", "Username"),
    "password": ("كلمة المرور", "Password"),
    "totp_code": (
        "رمز التحقق أو رمز الاسترداد (إن وُجد)",
        "Verification or recovery code (if enrolled)",
    ),
    "login_wrong": ("اسم المستخدم أو كلمة المرور غير صحيحة.", "Wrong username or password."),
    "login_locked": (
        "تم إيقاف الحساب مؤقتًا بعد محاولات فاشلة متكررة. حاول بعد {minutes} دقيقة.",
        "Too many failed attempts: the account is locked. Try again in {minutes} minutes.",
    ),
    "login_expired": ("انتهت صلاحية النموذج، أعد المحاولة.", "The form expired; try again."),
    "language": ("اللغة", "Language"),
    "lang_ar": ("العربية", "العربية"),
    "lang_en": ("English", "English"),
    # A language named in the page's language (what staff speak, what an entry is in).
    "language_ar": ("العربية", "Arabic"),
    "language_en": ("الإنجليزية", "English"),
    "list_comma": ("، ", ", "),
    # What a form says about a field the browser refuses (its own words follow the
    # browser's language, not the page's).
    "invalid_required": ("يُرجى تعبئة هذا الحقل.", "Please fill in this field."),
    "invalid_email": (
        "اكتب عنوان بريد إلكتروني صحيحًا، مثل name@example.bh",
        "Write an e-mail address such as name@example.bh",
    ),
    "invalid_range": ("القيمة خارج الحدود المسموح بها.", "The value is outside what is allowed."),
    "invalid_short": ("قصير جدًا: {n} أحرف على الأقل.", "Too short: at least {n} characters."),
    "invalid_format": (
        "الصيغة غير صحيحة، راجع ما كتبته.",
        "Not in the expected form; check what you wrote.",
    ),
    "save": ("حفظ", "Save"),
    "search": ("بحث", "Search"),
    "search_hint": ("ابحث في النصوص أو الرقم المرجعي أو الهاتف", "Search text, reference or phone"),
    "filter": ("تصفية", "Filter"),
    "clear": ("مسح", "Clear"),
    "any": ("الكل", "Any"),
    "from": ("من", "From"),
    "to": ("إلى", "To"),
    "next_page": ("التالي", "Next"),
    "previous_page": ("السابق", "Previous"),
    "no_tickets": ("لا توجد تذاكر هنا.", "No tickets here."),
    "new_tickets": ("تذاكر جديدة وصلت", "New tickets arrived"),
    "ticket_changed": (
        "غيّر شخص آخر هذه التذكرة. أعد التحميل لرؤية التغيير.",
        "Someone else changed this ticket. Reload to see it.",
    ),
    "reload": ("إعادة التحميل", "Reload"),
    "shortcuts": (
        "اختصارات: j/k تنقل، Enter فتح، r رد، n ملاحظة، a استلام، e حل",
        "Shortcuts: j/k move, Enter open, r reply, n note, a take, e resolve",
    ),
    # Queues.
    "queue_open": ("كل المفتوحة", "All open"),
    "queue_mine": ("المسندة إليّ", "Mine"),
    "queue_department": ("قسمي", "My department"),
    "queue_unassigned": ("غير مسندة", "Unassigned"),
    "queue_overdue": ("متأخرة أو على وشك", "Overdue / about to breach"),
    "queue_duplicates": ("مجموعات مكررة", "Duplicate clusters"),
    "queue_recurring": ("مشاكل متكررة", "Recurring"),
    "queue_triage": ("بحاجة إلى فرز", "Triage"),
    "queue_dead_letters": ("رسائل متعثرة", "Dead letters"),
    "queue_submitted": ("ما أرسلته", "My submissions"),
    "queue_all": ("الكل", "Everything"),
    # Columns and fields.
    "reference": ("الرقم المرجعي", "Reference"),
    "subject": ("الموضوع", "Subject"),
    "message": ("الرسالة", "Message"),
    "channel": ("القناة", "Channel"),
    "kind": ("النوع", "Kind"),
    "status": ("الحالة", "Status"),
    "priority": ("الأولوية", "Priority"),
    "department": ("القسم", "Department"),
    "assignee": ("المسؤول", "Assignee"),
    "block": ("المجمع", "Block"),
    "road": ("الطريق", "Road"),
    "building": ("المبنى", "Building"),
    "area": ("المنطقة", "Area"),
    "coordinates": ("الإحداثيات", "Coordinates"),
    "representative": ("ممثل المجمع", "Representative"),
    "created": ("تاريخ الإنشاء", "Created"),
    "sla_due": ("موعد الاستحقاق", "Due"),
    "overdue": ("متأخرة", "Overdue"),
    "reporters": ("المبلّغون", "Reporters"),
    "nobody": ("لا أحد", "Nobody"),
    "triage_flag": ("فرز", "Triage"),
    "reason": ("السبب", "Reason"),
    "attempts": ("المحاولات", "Attempts"),
    "received": ("الاستلام", "Received"),
    "retry": ("إعادة المحاولة", "Retry"),
    # Ticket page.
    "timeline": ("السجل", "Timeline"),
    "contact": ("المواطن", "Citizen"),
    "identities": ("وسائل التواصل", "Identities"),
    "past_tickets": ("تذاكر سابقة", "Past tickets"),
    "location": ("الموقع", "Location"),
    "attachments": ("المرفقات", "Attachments"),
    "download": ("تنزيل", "Download"),
    "duplicates": ("البلاغات المكررة", "Duplicates"),
    "primary": ("التذكرة الأساسية", "Primary ticket"),
    "duplicate_of": ("مكررة من", "Duplicate of"),
    "formatted": ("عرض المنسق", "Show formatted"),
    "load_images": ("تحميل الصور الخارجية", "Load remote images"),
    "images_blocked": ("الصور الخارجية محجوبة.", "Remote images are blocked."),
    "reply": ("رد", "Reply"),
    "reply_hint": (
        "يُرسل على قناة المواطن. يمكن استخدام:",
        "Goes out on the citizen's channel. Filled in when sent:",
    ),
    "visibility": ("طريقة الرد على إكس", "How to answer on X"),
    "visibility_as_citizen": ("كما كتب المواطن", "The way the citizen wrote"),
    "visibility_public": ("رد علني تحت تغريدته", "Public reply under their post"),
    "visibility_private": ("رسالة خاصة", "Private message"),
    "canned": ("رد جاهز", "Canned reply"),
    "send": ("إرسال", "Send"),
    "note": ("ملاحظة داخلية", "Internal note"),
    "add_note": ("إضافة ملاحظة", "Add note"),
    "take": ("استلام", "Take"),
    "assign": ("إسناد", "Assign"),
    "unassign": ("إلغاء الإسناد", "Unassign"),
    "transfer": ("تحويل إلى قسم آخر", "Transfer to another department"),
    "change": ("تغيير", "Change"),
    "resolve": ("حل", "Resolve"),
    "resolution_text": ("رسالة الحل (اختيارية)", "Resolution message (optional)"),
    "link_duplicate": ("ربط كمكررة من", "Link as duplicate of"),
    "unlink_duplicate": ("فك الربط", "Unlink"),
    "to_deliver_by_hand": ("للتسليم يدويًا", "To deliver by hand"),
    "mark_delivered": ("تم التسليم", "Mark delivered"),
    "state_queued": ("في الانتظار", "Queued"),
    "state_sent": ("أُرسل", "Sent"),
    "state_failed": ("فشل الإرسال", "Failed"),
    "state_by_hand": ("للتسليم يدويًا", "To deliver by hand"),
    "state_processed": ("", ""),
    "state_received": ("قيد المعالجة", "Processing"),
    "state_dead_letter": ("متعثرة", "Dead letter"),
    "by": ("بواسطة", "by"),
    "score": ("الدرجة", "Score"),
    "evidence": ("الأدلة", "Evidence"),
    "not_allowed": ("غير مسموح.", "Not allowed."),
    "not_found": ("غير موجود.", "Not found."),
    "error": ("حدث خطأ.", "Something went wrong."),
    "done": ("تم.", "Done."),
    # Timeline events.
    "event_created": ("أُنشئت التذكرة", "Ticket created"),
    "event_routed": ("وُجّهت", "Routed"),
    "event_linked_duplicate": ("رُبطت كمكررة", "Linked as duplicate"),
    "event_duplicate_reported": ("بلاغ مكرر", "Duplicate reported"),
    "event_unlinked_duplicate": ("فُك ربط المكررة", "Duplicate unlinked"),
    "event_status_changed": ("تغيّرت الحالة", "Status changed"),
    "event_changed": ("تعديل", "Changed"),
    "event_assigned": ("إسناد", "Assigned"),
    "event_transferred": ("تحويل", "Transferred"),
    "event_message_added": ("رسالة جديدة", "Message added"),
    "event_reply_sent": ("أُرسل الرد", "Reply sent"),
    "event_reply_failed": ("فشل إرسال الرد", "Reply failed"),
    "event_reply_by_hand": ("رد للتسليم يدويًا", "Reply to deliver by hand"),
    "event_reply_delivered": ("سُلّم الرد يدويًا", "Reply delivered by hand"),
    "event_note_added": ("ملاحظة", "Note"),
    "event_retried": ("أُعيدت المعالجة", "Retried"),
    "event_contacts_merged": ("دُمج المواطن مع", "Citizen merged with"),
    "event_contacts_unmerged": ("أُلغي دمج المواطن", "Citizen merge undone"),
    "event_sla_warning": ("تنبيه: الموعد يقترب", "SLA warning: due soon"),
    "event_sla_escalated": ("تصعيد: تجاوز الموعد", "SLA breached: escalated"),
    "event_sla_resumed": ("استؤنف احتساب الموعد", "SLA clock resumed"),
    "event_sla_recounted": ("أعيد احتساب الموعد", "SLA due times counted again"),
    "event_sla_restarted": ("بدأ احتساب موعد الحل من جديد", "Resolution SLA started again"),
    "event_survey_answered": ("أجاب المواطن عن «هل حُلّت؟»", 'The citizen answered "is it fixed?"'),
    "event_opted_out": ("طلب المواطن إيقاف الرسائل", "The citizen asked for no more notices"),
    "sla_first_response": ("أول رد", "First response"),
    "sla_resolution": ("الحل", "Resolution"),
    "sla_paused": ("الموعد متوقف بانتظار المواطن", "Clock paused: waiting on the citizen"),
    "merge_contact": ("نفس المواطن في التذكرة", "Same citizen as ticket"),
    "merge": ("دمج", "Merge"),
    "unmerge": ("إلغاء الدمج", "Undo merge"),
    # Dashboard.
    "period_days": ("الفترة (أيام)", "Period (days)"),
    "volume_per_channel": ("الحجم حسب القناة", "Volume per channel"),
    "volume_per_department": ("الحجم حسب القسم", "Volume per department"),
    "response_rate": ("نسبة الرد", "Response rate"),
    "first_response": ("أول رد (ساعات، الوسيط)", "First response (hours, median)"),
    "resolution_time": ("الحل (ساعات، الوسيط)", "Resolution (hours, median)"),
    "sla_target": ("هدف مستوى الخدمة (ساعات)", "SLA target (hours)"),
    "breaches": ("تجاوزات مستوى الخدمة", "SLA breaches"),
    "recurring_places": ("أكثر الأماكن تكرارًا", "Top recurring places"),
    "tickets": ("التذاكر", "Tickets"),
    "answered": ("تم الرد", "Answered"),
    "place": ("المكان", "Place"),
    "day": ("اليوم", "Day"),
    "total": ("المجموع", "Total"),
    "export_csv": ("تصدير CSV", "Export CSV"),
    # Admin.
    "name": ("الاسم", "Name"),
    "users": ("الموظفون", "Staff accounts"),
    "role": ("الدور", "Role"),
    "deactivate": ("إيقاف", "Deactivate"),
    "reactivate": ("تفعيل", "Reactivate"),
    "scopes": ("الصلاحيات", "Scopes"),
    "user": ("المستخدم", "User"),
    "create": ("إنشاء", "Create"),
    "revoke": ("إلغاء", "Revoke"),
    "revoked": ("ملغى", "Revoked"),
    "last_used": ("آخر استخدام", "Last used"),
    "new_token_once": (
        "انسخ المفتاح الآن، لن يظهر مرة أخرى:",
        "Copy the token now; it will not be shown again:",
    ),
    "action": ("الإجراء", "Action"),
    "when": ("الوقت", "When"),
    "who": ("من", "Who"),
    "second_factor": ("التحقق بخطوتين", "Two-step verification"),
    "totp_enabled": ("مفعّل.", "Enabled."),
    "totp_setup": (
        "أدخل هذا المفتاح في تطبيق المصادقة ثم اكتب الرمز للتأكيد:",
        "Enter this key in an authenticator app, then type the code to confirm:",
    ),
    "confirm": ("تأكيد", "Confirm"),
    "submit_new": ("بلاغ جديد", "New report"),
    "submitted": ("أُرسل البلاغ برقم {reference}.", "Report sent as {reference}."),
    # The public form and status page.
    "report_problem": ("تقديم بلاغ", "Report a problem"),
    "report_intro": (
        "أخبرنا بالمشكلة وموقعها، وستحصل على رقم مرجعي لمتابعتها.",
        "Tell us the problem and where it is; you get a reference number to follow it.",
    ),
    "category_optional": ("موضوع البلاغ (اختياري)", "What it is about (optional)"),
    "description": ("وصف المشكلة", "Description"),
    "where": ("الموقع", "Where"),
    "where_hint": (
        "أرقام المبنى والطريق والمجمع، أو نقطة على الخريطة (خط العرض وخط الطول).",
        "Building, road and block numbers, or a map point (latitude and longitude).",
    ),
    "address_landmark": ("العنوان أو أقرب معلم", "Address or nearest landmark"),
    "latitude": ("خط العرض", "Latitude"),
    "longitude": ("خط الطول", "Longitude"),
    "use_my_location": ("استخدم موقعي الحالي", "Use my current location"),
    "choose_photos": ("اختر صورًا", "Choose photos"),
    "no_photo_chosen": ("لم تُختر صورة", "No photo chosen"),
    "photos_limit": (
        "صور (حتى {count}، {megabytes} ميغابايت للصورة)",
        "Photos (up to {count}, {megabytes} MB each)",
    ),
    "your_details": ("بيانات التواصل", "Your contact details"),
    "contact_hint": (
        "رقم الهاتف أو البريد الإلكتروني مطلوب لمتابعة البلاغ.",
        "A phone number or an email is needed to follow the report.",
    ),
    "phone_number": ("رقم الهاتف", "Phone number"),
    "email_address": ("البريد الإلكتروني", "Email"),
    "send_report": ("إرسال البلاغ", "Send the report"),
    "report_received": ("تم استلام بلاغك. الرقم المرجعي:", "Your report was received. Reference:"),
    "keep_reference": (
        "احتفظ بالرقم المرجعي لمتابعة حالة البلاغ.",
        "Keep the reference number to follow the report.",
    ),
    "report_queued": (
        "تم استلام بلاغك. رقم الإيصال: {receipt}. يصدر الرقم المرجعي خلال دقائق، ويمكنك "
        "المتابعة بالإيصال.",
        "Your report was received. Receipt: {receipt}. The reference number follows within "
        "minutes; you can follow the report with the receipt.",
    ),
    "check_status": ("متابعة بلاغ", "Check a report"),
    "status_intro": (
        "أدخل الرقم المرجعي ورقم الهاتف أو البريد الإلكتروني الذي قدّمت به البلاغ.",
        "Enter the reference number and the phone or email you gave with the report.",
    ),
    "reference_or_receipt": ("الرقم المرجعي أو الإيصال", "Reference number or receipt"),
    "phone_or_email": ("رقم الهاتف أو البريد الإلكتروني", "Phone number or email"),
    "show_status": ("عرض الحالة", "Show the status"),
    "status_not_found": (
        "لا يوجد بلاغ بهذا الرقم وبهذه البيانات. تأكد من الرقم المرجعي ومن الهاتف أو البريد.",
        "No report matches this reference and these details. Check both and try again.",
    ),
    "received_on": ("تاريخ الاستلام", "Received"),
    "last_update": ("آخر تحديث", "Last update"),
    "expected_by": ("الموعد المتوقع", "Expected by"),
    "resolved_on": ("تاريخ الحل", "Resolved"),
    "handled_with_others": (
        "يُعالج بلاغك مع بلاغات أخرى عن المشكلة نفسها.",
        "Your report is handled together with others about the same problem.",
    ),
    "form_problem": ("تعذر إرسال البلاغ: {reason}", "The report could not be sent: {reason}"),
    "photo_too_large": (
        "الصورة {name} أكبر من {megabytes} ميغابايت.",
        "The photo {name} is larger than {megabytes} MB.",
    ),
    "upload_too_large": (
        "المرفقات أكبر من {megabytes} ميغابايت معًا.",
        "The upload is larger than {megabytes} MB in all.",
    ),
    "photo_not_photo": ("الملف {name} ليس صورة: {what}.", "{name} is not a photo: {what}."),
    "what_elf": ("إنه برنامج لينكس (ELF)", "it is a Linux program (ELF)"),
    "what_pe": ("إنه برنامج ويندوز (PE)", "it is a Windows program (PE)"),
    "what_macho": ("إنه برنامج ماك", "it is a macOS program"),
    "what_zip": ("إنه ملف مضغوط", "it is a ZIP archive"),
    "what_pdf": ("إنه مستند PDF", "it is a PDF document"),
    "what_script": ("إنه برنامج نصي", "it is a script"),
    "what_markup": ("إنه HTML أو SVG قد يحمل برامج", "it is HTML or SVG, which can carry script"),
    "what_unknown": (
        "الصيغ المقبولة PNG وJPEG وGIF وWebP وHEIC",
        "accepted formats are PNG, JPEG, GIF, WebP and HEIC",
    ),
    "what_empty": ("الملف فارغ", "the file is empty"),
    "phone_invalid": ("رقم الهاتف غير صحيح.", "The phone number is not valid."),
    "email_invalid": ("البريد الإلكتروني غير صحيح.", "The email address is not valid."),
    "contact_needed": (
        "أدخل رقم الهاتف أو البريد الإلكتروني.",
        "Give a phone number or an email.",
    ),
    "too_many": (
        "طلبات كثيرة. حاول مرة أخرى بعد {minutes} دقيقة.",
        "Too many requests. Try again in {minutes} minutes.",
    ),
    # Staff entries: calls, majlis, council, field visits, walk-ins, letters.
    "log_entry": ("تسجيل بلاغ", "Log a contact"),
    "occurred_at": ("الوقت", "When"),
    "raised_by": ("مقدم البلاغ", "Raised by"),
    "on_behalf_of": ("نيابة عن", "On behalf of"),
    "notes": ("ما قاله المواطن", "What the citizen said"),
    "logged": ("سُجل البلاغ برقم {reference}.", "Logged as {reference}."),
    "logged_queued": ("سُجل البلاغ وهو قيد المعالجة.", "Logged; it is being processed."),
    "missed_calls": ("مكالمات فائتة للاتصال بها", "Missed calls to return"),
    "called_back": ("تم الاتصال", "Called back"),
    "caller": ("المتصل", "Caller"),
    "no_missed_calls": ("لا توجد مكالمات فائتة.", "No missed calls."),
    # Coverage of blocks by community representatives.
    "coverage": ("تغطية المجمعات", "Block coverage"),
    "coverage_summary": (
        "{covered} من {blocks} مجمعًا لها ممثل؛ {uncovered} بلا ممثل.",
        "{covered} of {blocks} blocks have a representative; {uncovered} have none.",
    ),
    "uncovered_blocks": ("مجمعات بلا ممثل", "Blocks without a representative"),
    "covered_blocks": ("مجمعات لها ممثل", "Blocks with a representative"),
    "reports_30_days": ("بلاغات آخر 30 يومًا", "Reports, last 30 days"),
    # Operations: the reconciliation ledger and channel health.
    "ledger": ("سجل التسوية", "Reconciliation ledger"),
    "ledger_hint": (
        "كل ليلة تقارن التسوية ما لدى كل قناة بما حُفظ، وتسترجع الناقص. السجل محفوظ دائمًا.",
        "Each night compares what every channel holds with what was stored and recovers "
        "what is missing. The ledger is kept forever.",
    ),
    "ledger_empty": ("لم تُجرَ أي تسوية بعد.", "No reconciliation has run yet."),
    "ledger_not_ok": (
        "{count} من الأسطر لم تتطابق أو فشلت فيها خطوة.",
        "{count} lines did not add up or had a step fail.",
    ),
    "window": ("الفترة", "Window"),
    "run_status": ("النتيجة", "Result"),
    "run_ok": ("مطابقة", "OK"),
    "run_mismatch": ("عدم تطابق", "Mismatch"),
    "run_failed": ("فشل خطوة", "Step failed"),
    "run_running": ("قيد التنفيذ", "Running"),
    "at_source": ("لدى المصدر", "At source"),
    "not_listed": ("غير متاح", "n/a"),
    "stored": ("محفوظة", "Stored"),
    "backfilled": ("مسترجعة", "Backfilled"),
    "reprocessed": ("أعيدت معالجتها", "Reprocessed"),
    "dead_lettered": ("متعثرة", "Dead-lettered"),
    "late_duplicates": ("مكررات متأخرة", "Duplicates found late"),
    "errors": ("الأخطاء", "Errors"),
    "channel_health": ("حالة القنوات", "Channel health"),
    "channels_empty": ("لا توجد قنوات مهيأة بعد.", "No channel has reported yet."),
    "last_message": ("آخر رسالة", "Last message"),
    "last_success": ("آخر نجاح", "Last success"),
    "last_error": ("آخر خطأ", "Last error"),
    "consecutive_errors": ("أخطاء متتالية", "Errors in a row"),
    "watermark": ("نقطة المتابعة", "Watermark"),
}

#: Names of enum values shown in the pages (status, kind, priority, channel).
VALUE_TEXTS: dict[str, tuple[str, str]] = {
    "new": ("جديدة", "New"),
    "open": ("مفتوحة", "Open"),
    "pending": ("بانتظار المواطن", "Pending"),
    "resolved": ("محلولة", "Resolved"),
    "closed": ("مغلقة", "Closed"),
    "complaint": ("شكوى", "Complaint"),
    "suggestion": ("اقتراح", "Suggestion"),
    "inquiry": ("استفسار", "Inquiry"),
    "request": ("طلب", "Request"),
    "compliment": ("إشادة", "Compliment"),
    "low": ("منخفضة", "Low"),
    "normal": ("عادية", "Normal"),
    "high": ("عالية", "High"),
    "urgent": ("عاجلة", "Urgent"),
    "phone": ("هاتف", "Phone"),
    "x": ("إكس", "X"),
    "telegram": ("تيليجرام", "Telegram"),
    "email": ("بريد إلكتروني", "Email"),
    "sms": ("رسالة نصية", "SMS"),
    "call_centre": ("مركز الاتصال", "Call centre"),
    "web": ("الموقع", "Web form"),
    "app": ("التطبيق", "App"),
    "majlis": ("المجلس", "Majlis"),
    "council": ("مجلس التنسيق", "Council"),
    "field_visit": ("زيارة ميدانية", "Field visit"),
    "walk_in": ("حضور شخصي", "Walk-in"),
    "letter": ("خطاب", "Letter"),
    "open311": ("Open311", "Open311"),
    "whatsapp": ("واتساب", "WhatsApp"),
    "agent": ("موظف", "Agent"),
    "supervisor": ("مشرف", "Supervisor"),
    "admin": ("مسؤول النظام", "Admin"),
    "representative": ("ممثل مجمع", "Representative"),
}

# The staff side's words are grouped in their own modules (one dict per area of work).
for _group in (*i18n_work.GROUPS, *i18n_admin.GROUPS):
    TEXTS.update(_group)


TEXTS.update(FIELD_TEXTS)
VALUE_TEXTS.update(FIELD_VALUES)


def language_of(preferred: str | None) -> str:
    """A supported language for ``preferred`` (Arabic unless English is asked for)."""
    return preferred if preferred in LANGUAGES else DEFAULT_LANGUAGE


def direction_of(language: str) -> str:
    """``rtl`` for Arabic, ``ltr`` otherwise."""
    return "rtl" if language == "ar" else "ltr"


def translator(language: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``language``; an unknown key shows as itself (easy to spot)."""
    index = 0 if language == "ar" else 1

    def t(key: str, **values: object) -> str:
        pair = TEXTS.get(key) or VALUE_TEXTS.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t


def isolated(value: object) -> str:
    """``value`` (a reference, a number) set apart from the words around it, so a
    right-to-left line never reorders its parts: Unicode's first-strong isolate."""
    return f"\u2068{value}\u2069"


def value_name(language: str, value: str | None) -> str:
    """The shown name of an enum value (status, kind, channel, …); unknown ones as given."""
    if value is None:
        return ""
    pair = VALUE_TEXTS.get(value)
    return pair[0 if language == "ar" else 1] if pair else value
