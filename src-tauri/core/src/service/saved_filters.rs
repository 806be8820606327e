//! Saved filters of the key list through the service: listed, saved (validated by
//! [`crate::saved_filters`]; one of the same name is replaced) and deleted, kept in the settings
//! table under one key. Every change goes through [`Keyward::saved_filters_write`].

use super::Keyward;
use crate::Error;
use crate::saved_filters::{SavedFilter, save_into};

/// The settings key the list is kept under.
const SETTING: &str = "key_list.saved_filters";

impl Keyward {
    /// The saved filters in the order they were first saved.
    pub fn saved_filters(&self) -> Result<Vec<SavedFilter>, Error> {
        Ok(self
            .inner
            .store()
            .setting::<Vec<SavedFilter>>(SETTING)?
            .unwrap_or_default())
    }

    /// Saves a filter (a bad one changes nothing); answers the whole list.
    pub fn saved_filter_save(&self, filter: &SavedFilter) -> Result<Vec<SavedFilter>, Error> {
        let mut list = self.saved_filters()?;
        save_into(&mut list, filter)?;
        self.saved_filters_write(&list)?;
        Ok(list)
    }

    /// Deletes the filter of that name (case-insensitive); answers the whole list.
    pub fn saved_filter_delete(&self, name: &str) -> Result<Vec<SavedFilter>, Error> {
        let mut list = self.saved_filters()?;
        let before = list.len();
        list.retain(|filter| !filter.same_name(name));
        if list.len() == before {
            return Err(Error::NotFound {
                message: format!("no saved filter named {:?}", name.trim()),
            });
        }
        self.saved_filters_write(&list)?;
        Ok(list)
    }

    fn saved_filters_write(&self, list: &[SavedFilter]) -> Result<(), Error> {
        self.inner.store().set_setting(SETTING, list)
    }
}
