// Sequence control: the current, next and highest issued numbers; a reset that the user confirms
// by typing the new number again; a sync. The server decides what is allowed and the page says
// its answer in words.
import { api, describeError } from '../api.js';
import { el, pageHeading, sentence } from '../dom.js';
import { Notice } from '../notice.js';

function figures(seq) {
  return el('ul', { class: 'cards cards-wide' },
    el('li', { class: 'card' }, el('div', {},
      el('span', { class: 'card-number', id: 'seq-current' }, String(seq.current_number)),
      el('span', { class: 'card-label' }, 'Sequence now (last number handed out)'))),
    el('li', { class: 'card' }, el('div', {},
      el('span', { class: 'card-number', id: 'seq-next' }, seq.next_team_id),
      el('span', { class: 'card-label' }, 'Next team ID'))),
    el('li', { class: 'card' }, el('div', {},
      el('span', { class: 'card-number', id: 'seq-highest' }, String(seq.highest_issued)),
      el('span', { class: 'card-label' }, 'Highest number issued'))));
}

function wholeNumber(text) {
  return /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : null;
}

function resetMessage(answer) {
  if (!answer.changed) return `Nothing changed: the sequence already was ${answer.current_number}.`;
  const skipped = answer.skipped_numbers > 0
    ? ` ${answer.skipped_numbers} number${answer.skipped_numbers === 1 ? '' : 's'} will never be issued.`
    : '';
  return `The sequence went from ${answer.previous_number} to ${answer.current_number}; ` +
    `the next team gets ${answer.next_team_id}.${skipped}`;
}

function refusal(error, wanted, seq) {
  if (error.code === 'SEQUENCE_BELOW_ISSUED') {
    return `Refused: ${sentence(error.message)} The sequence cannot go below the highest number already ` +
      `issued (${seq.highest_issued}), because the next registrations would get team IDs that ` +
      `exist. Choose ${seq.highest_issued} or more; nothing was changed.`;
  }
  return `The sequence was not reset to ${wanted}: ${describeError(error)}`;
}

export async function render(view, { canChange }) {
  let seq = await api('/admin/sequence/current');
  const numbers = el('div', {}, figures(seq));
  const resetNotice = new Notice();
  const syncNotice = new Notice();
  const reload = async () => {
    seq = await api('/admin/sequence/current');
    numbers.replaceChildren(figures(seq));
  };

  const first = el('input', {
    id: 'reset-number', name: 'new_number', inputmode: 'numeric', autocomplete: 'off',
    'aria-describedby': 'reset-hint', required: true,
  });
  const again = el('input', {
    id: 'reset-again', name: 'confirm_number', inputmode: 'numeric', autocomplete: 'off',
    required: true,
  });
  const preview = el('p', { id: 'reset-hint', class: 'hint' },
    'The next team gets this number plus one. Going up leaves the numbers in between unused for good.');
  first.addEventListener('input', () => {
    const n = wholeNumber(first.value);
    if (n === null || n <= seq.highest_issued) {
      preview.textContent = 'The next team gets this number plus one. Going up leaves the numbers in between unused for good.';
    } else if (n > seq.current_number) {
      preview.textContent = `The next team would get number ${n + 1}; numbers ${seq.current_number + 1} to ${n} would never be issued.`;
    } else {
      preview.textContent = `The next team would get number ${n + 1}.`;
    }
  });
  const resetButton = el('button', { type: 'submit', class: 'danger' }, 'Reset the sequence');
  const resetForm = el('form', { class: 'stack', 'aria-labelledby': 'seq-reset-title', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'reset-number' }, 'New sequence number'), first, preview),
    el('div', { class: 'field' }, el('label', { for: 'reset-again' }, 'Type the new number again to confirm'), again),
    el('div', { class: 'button-row' }, resetButton),
    resetNotice.element);
  resetForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const n = wholeNumber(first.value);
    if (n === null) {
      first.setAttribute('aria-invalid', 'true');
      resetNotice.error('Enter the new sequence number as a whole number, 0 or more.');
      first.focus();
      return;
    }
    first.removeAttribute('aria-invalid');
    again.removeAttribute('aria-invalid');
    if (again.value.trim() !== first.value.trim()) {
      again.setAttribute('aria-invalid', 'true');
      resetNotice.error('The two numbers differ. Type the same number in both boxes to confirm the reset.');
      again.focus();
      return;
    }
    resetButton.disabled = true;
    resetNotice.show('Resetting…');
    try {
      const answer = await api('/admin/sequence/reset', { method: 'POST', query: { new_number: n } });
      await reload();
      resetNotice.success(resetMessage(answer));
      first.value = '';
      again.value = '';
    } catch (error) {
      // The numbers in the refusal should be today's, not those of when the page was drawn.
      if (error.code === 'SEQUENCE_BELOW_ISSUED') await reload().catch(() => {});
      resetNotice.error(refusal(error, n, seq));
    } finally {
      resetButton.disabled = false;
    }
  });

  const syncButton = el('button', { type: 'button' }, 'Sync with the teams');
  syncButton.addEventListener('click', async () => {
    syncButton.disabled = true;
    syncNotice.show('Syncing…');
    try {
      const answer = await api('/admin/sequence/sync', { method: 'POST' });
      await reload();
      syncNotice.success(answer.changed
        ? `The sequence was behind and went from ${answer.previous_number} to ${answer.sequence_number}; the next team gets ${answer.next_team_id}.`
        : `Nothing to do: the sequence (${answer.sequence_number}) is not behind the teams.`);
    } catch (error) {
      syncNotice.error(describeError(error));
    } finally {
      syncButton.disabled = false;
    }
  });

  view.append(
    pageHeading('Sequence'),
    el('section', { class: 'panel', 'aria-labelledby': 'seq-now-title' },
      el('h2', { id: 'seq-now-title' }, 'Team numbers'), numbers),
    ...(canChange ? [
      el('section', { class: 'panel', 'aria-labelledby': 'seq-reset-title' },
        el('h2', { id: 'seq-reset-title' }, 'Reset'),
        el('p', {}, 'Sets the sequence to a number at or above the highest issued one, for example to start a new series at 100. It can never go below a team ID that exists.'),
        resetForm),
      el('section', { class: 'panel', 'aria-labelledby': 'seq-sync-title' },
        el('h2', { id: 'seq-sync-title' }, 'Sync'),
        el('p', {}, 'Raises the sequence to the highest issued number if it is behind, for example after teams were added to the database by hand. It never lowers it.'),
        el('div', { class: 'button-row' }, syncButton),
        syncNotice.element),
    ] : [el('p', { class: 'muted' }, 'You are signed in as a viewer: resetting and syncing the sequence need an admin account.')]));
}
