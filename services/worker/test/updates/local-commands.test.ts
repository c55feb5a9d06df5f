import { describe, expect, it } from 'vitest';
import {
  HELP_TEXT,
  STATUS_TEXT,
  localCommandOf,
  localCommandReply,
} from '../../src/updates/local-commands.ts';

describe('localCommandReply', () => {
  it("should answer with the seed's texts word for word", () => {
    expect(localCommandReply('/start')).toBe(
      "Hello! I'm your Virtual Assistant. Send me a message and I'll help you out.\n\nAvailable commands:\n/help - Show this message\n/status - Check my status",
    );
    expect(localCommandReply('/help')).toBe(HELP_TEXT);
    expect(localCommandReply('/status')).toBe("✅ I'm online and ready to help!");
    expect(STATUS_TEXT).toBe("✅ I'm online and ready to help!");
  });

  it('should echo anything else with the text HTML-escaped', () => {
    expect(localCommandReply(' <b>hi</b> & bye ')).toBe(
      "I received your message: &lt;b&gt;hi&lt;/b&gt; &amp; bye\n\nI'm still learning how to process messages. More features coming soon!",
    );
  });
});

describe('localCommandOf', () => {
  it('should match by prefix in any case after trimming, and nothing else', () => {
    expect(localCommandOf('\n /HELP')).toBe('help');
    expect(localCommandOf('/statusxyz')).toBe('status');
    expect(localCommandOf('/stat')).toBeNull();
    expect(localCommandOf('')).toBeNull();
    expect(localCommandOf('please /start')).toBeNull();
  });
});
